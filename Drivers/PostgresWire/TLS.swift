import CCertificate
import CTLS
import Glibc
import Synchronization

/// How a TLS client trusts servers: the key of one shared ``TLSContext``.
public struct TLSTrust: Hashable, Sendable {
    /// PEM text of the CA certificates to trust, when given.
    public var caPEM: [UInt8]?
    /// Trust the system's CAs (when no CA text is given).
    public var systemRoots: Bool
    /// Verify the chain at all (`require` without a CA does not).
    public var verifyChain: Bool

    public init(caPEM: [UInt8]?, systemRoots: Bool, verifyChain: Bool) {
        self.caPEM = caPEM
        self.systemRoots = systemRoots
        self.verifyChain = verifyChain
    }
}

/// Why a TLS context could not be made.
public struct TLSContextError: Error, CustomStringConvertible {
    public let description: String
}

/// An OpenSSL client context for one ``TLSTrust``, built once and shared by every session that
/// trusts the same way (contexts are safe to share across threads once built).
public final class TLSContext: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer

    init(_ trust: TLSTrust) throws(TLSContextError) {
        var error = [CChar](repeating: 0, count: 256)
        let made: UnsafeMutableRawPointer? =
            if let pem = trust.caPEM {
                pem.withUnsafeBufferPointer { text in
                    text.withMemoryRebound(to: CChar.self) {
                        ctls_context_new($0.baseAddress, $0.count, 0, trust.verifyChain ? 1 : 0, &error, error.count)
                    }
                }
            } else {
                ctls_context_new(nil, 0, trust.systemRoots ? 1 : 0, trust.verifyChain ? 1 : 0, &error, error.count)
            }
        guard let made else {
            throw TLSContextError(description: String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        pointer = made
    }

    deinit { ctls_context_free(pointer) }
}

/// The TLS contexts of a process, one per distinct ``TLSTrust``; the least recently used go
/// when more than `capacity` exist (a session keeps its own context alive).
public final class TLSContextCache: Sendable {
    public static let shared = TLSContextCache()

    private struct State {
        var contexts: [TLSTrust: (context: TLSContext, lastUse: UInt64)] = [:]
        var clock: UInt64 = 0
    }

    private let capacity: Int
    private let state = Mutex(State())

    public init(capacity: Int = 64) {
        self.capacity = capacity
    }

    /// The context for `trust`, built on first use.
    public func context(for trust: TLSTrust) throws(TLSContextError) -> TLSContext {
        let cached = state.withLock { state -> TLSContext? in
            state.clock += 1
            guard let entry = state.contexts[trust] else { return nil }
            state.contexts[trust] = (entry.context, state.clock)
            return entry.context
        }
        if let cached { return cached }
        let context = try TLSContext(trust)
        return state.withLock { state in
            state.clock += 1
            if let raced = state.contexts[trust] { return raced.context }
            if state.contexts.count >= capacity, let oldest = state.contexts.min(by: { $0.value.lastUse < $1.value.lastUse })?.key {
                state.contexts[oldest] = nil
            }
            state.contexts[trust] = (context, state.clock)
            return context
        }
    }

    /// How many contexts exist.
    public var count: Int { state.withLock { $0.contexts.count } }
}

/// One connection's TLS state over a connected non-blocking socket.
public final class TLSSession {
    /// What a TLS step did.
    public enum Progress: Equatable {
        case done(Int)
        case wantRead
        case wantWrite
        case closed
        case failed
    }

    private let context: TLSContext
    private let session: UnsafeMutableRawPointer

    /// - Parameter serverName: sent as SNI (a host name; nil for an address).
    public init?(context: TLSContext, fd: Int32, serverName: String?) {
        guard let session = ctls_session_new(context.pointer, fd, serverName) else { return nil }
        self.context = context
        self.session = session
    }

    deinit { ctls_session_free(session) }

    public func handshake() -> Progress {
        Self.progress(Int(ctls_handshake(session)))
    }

    /// X509_V_OK (0), or why the chain did not verify.
    public var verifyResult: Int { ctls_verify_result(session) }

    public func read(into buffer: UnsafeMutableRawBufferPointer) -> Progress {
        Self.progress(ctls_read(session, buffer.baseAddress, buffer.count))
    }

    public func write(_ bytes: UnsafeRawBufferPointer) -> Progress {
        Self.progress(ctls_write(session, bytes.baseAddress, bytes.count))
    }

    /// The `tls-server-end-point` channel-binding data of the server's certificate.
    public var endPointHash: [UInt8]? {
        var out = [UInt8](repeating: 0, count: 64)
        let length = Int(ctls_end_point_hash(session, &out))
        return length > 0 ? Array(out.prefix(length)) : nil
    }

    /// The certificate's subjectAltName entries of type DNS and IP address, and its Common Name.
    public var peerNames: PeerNames {
        var names = PeerNames()
        let capacity = 1024
        var buffer = [UInt8](repeating: 0, count: capacity)
        var index: Int32 = 0
        while true {
            var type: Int32 = 0
            let length = Int(ctls_peer_alt_name(session, index, &type, &buffer, capacity))
            if length < 0 { break }
            let value = Array(buffer.prefix(length))
            if type == 2 { names.dnsNames.append(value) } else if type == 7 { names.ipAddresses.append(value) }
            index += 1
        }
        let common = Int(ctls_peer_common_name(session, &buffer, capacity))
        if common >= 0 { names.commonName = Array(buffer.prefix(common)) }
        return names
    }

    /// When the server's certificate expires, seconds since 1970.
    public var peerNotAfter: Int64? {
        let seconds = ccertificate_peer_not_after(session)
        return seconds >= 0 ? seconds : nil
    }

    private static func progress(_ result: Int) -> Progress {
        switch result {
        case Int(CTLS_WANT_READ): .wantRead
        case Int(CTLS_WANT_WRITE): .wantWrite
        case Int(CTLS_CLOSED): .closed
        case Int(CTLS_FAILED): .failed
        default: .done(result)
        }
    }
}

/// The names a server certificate is for.
public struct PeerNames: Equatable, Sendable {
    public var dnsNames: [[UInt8]] = []
    public var ipAddresses: [[UInt8]] = []
    public var commonName: [UInt8]?

    public init(dnsNames: [[UInt8]] = [], ipAddresses: [[UInt8]] = [], commonName: [UInt8]? = nil) {
        self.dnsNames = dnsNames
        self.ipAddresses = ipAddresses
        self.commonName = commonName
    }
}

/// PBKDF2-HMAC-SHA-256 with OpenSSL's one-shot.
public enum OpenSSLPBKDF2 {
    public static func sha256(password: [UInt8], salt: [UInt8], iterations: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        _ = ctls_pbkdf2_sha256(password, password.count, salt, salt.count, Int32(iterations), &out, 32)
        return out
    }
}

extension PeerNames {
    /// Whether the certificate is for `host`, by libpq 15's rules for `verify-full`: every
    /// dNSName (case-insensitive, or a `*.` wildcard for exactly one label) and iPAddress entry
    /// is compared; the Common Name only when no entry of the host's own kind (name or address)
    /// exists. A name with a NUL byte never matches.
    public func match(host: String) -> Bool {
        let address = Self.address(host)
        for name in dnsNames where Self.nameMatches(name, host: host) { return true }
        if let address {
            for entry in ipAddresses where entry == address { return true }
        }
        let ownKindPresent = address == nil ? !dnsNames.isEmpty : !ipAddresses.isEmpty
        if !ownKindPresent, let commonName { return Self.nameMatches(commonName, host: host) }
        return false
    }

    /// The bytes of `host` as an IPv4 (as `inet_aton` reads it) or IPv6 address; nil for a name.
    static func address(_ host: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_aton(host, &v4) != 0 { return withUnsafeBytes(of: &v4.s_addr) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, host, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }

    static func nameMatches(_ name: [UInt8], host: String) -> Bool {
        guard !name.contains(0) else { return false }
        let pattern = String(decoding: name, as: UTF8.self).lowercased()
        let host = host.lowercased()
        if pattern == host { return true }
        guard pattern.hasPrefix("*."), pattern.count <= host.count else { return false }
        let suffix = pattern.dropFirst()  // ".example.com"
        guard host.hasSuffix(suffix) else { return false }
        // The wildcard covers one label: no dot before where the suffix starts.
        return !host.dropLast(suffix.count).contains(".")
    }
}
