import CCertificate
import CTLS
import Glibc
import Synchronization

/// How a TLS client trusts servers: the key of one shared ``TLSContext``.
public struct TLSTrust: Hashable, Sendable {
    /// PEM text of the CA certificates to trust, when given.
    public var caPEM: [UInt8]?
    /// A CA bundle file to trust (the system's, when no CA text is given).
    public var caBundleFile: String?
    /// Verify the chain at all (`require` without a CA does not).
    public var verifyChain: Bool

    public init(caPEM: [UInt8]?, caBundleFile: String?, verifyChain: Bool) {
        self.caPEM = caPEM
        self.caBundleFile = caBundleFile
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
                        ctls_context_new($0.baseAddress, $0.count, nil, trust.verifyChain ? 1 : 0, &error, 256)
                    }
                }
            } else {
                ctls_context_new(nil, 0, trust.caBundleFile, trust.verifyChain ? 1 : 0, &error, 256)
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

    /// Whether the session holds bytes read from the socket but not yet returned by ``read(into:)``.
    public var hasPending: Bool { ctls_has_pending(session) != 0 }

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

    /// The certificate's names: its DNS and IP address entries in order, and its first Common
    /// Name. At most 256 entries and 64 KiB are read (a certificate is not a place for more).
    public var peerNames: PeerNames {
        let maxNames = 256
        let capacity = 64 * 1024
        var types = [Int32](repeating: 0, count: maxNames)
        var lengths = [Int32](repeating: 0, count: maxNames)
        var bytes = [UInt8](repeating: 0, count: capacity)
        let count = Int(ctls_peer_names(session, &types, &lengths, &bytes, capacity, Int32(maxNames)))
        var names = PeerNames()
        var offset = 0
        for index in 0..<max(0, count) {
            let value = Array(bytes[offset..<(offset + Int(lengths[index]))])
            offset += Int(lengths[index])
            switch types[index] {
            case 2: names.alternativeNames.append(.dns(value))
            case 7: names.alternativeNames.append(.ip(value))
            default: names.commonName = value
            }
        }
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
    /// A subjectAltName entry.
    public enum Entry: Equatable, Sendable {
        case dns([UInt8])
        /// 4 or 16 bytes (anything else is a malformed certificate).
        case ip([UInt8])
    }

    /// The subjectAltName entries of type DNS and IP address, in the certificate's order.
    public var alternativeNames: [Entry] = []
    /// The subject's first Common Name.
    public var commonName: [UInt8]?

    public init(alternativeNames: [Entry] = [], commonName: [UInt8]? = nil) {
        self.alternativeNames = alternativeNames
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
    /// Whether the certificate is for `host`, by libpq 15's rules for `verify-full`: the
    /// subjectAltName entries in order, DNS names byte for byte with ASCII case folding or as a
    /// `*.` wildcard for exactly one label, addresses by their bytes; the first match wins, and a
    /// malformed entry met first (a NUL in a name, an address of another length) ends the check.
    /// The Common Name counts only when no entry of the host's own kind (name or address) exists.
    public func match(host: String) -> Bool {
        let address = Self.address(host)
        var checkCommonName = true
        for entry in alternativeNames {
            switch entry {
            case .dns(let name):
                if address == nil { checkCommonName = false }
                guard !name.contains(0) else { return false }
                if Self.nameMatches(name, host: Array(host.utf8)) { return true }
            case .ip(let bytes):
                if address != nil { checkCommonName = false }
                guard bytes.count == 4 || bytes.count == 16 else { return false }
                if bytes == address { return true }
            }
        }
        guard checkCommonName, let commonName, !commonName.contains(0) else { return false }
        return Self.nameMatches(commonName, host: Array(host.utf8))
    }

    /// The bytes of `host` as an IPv4 (as `inet_aton` reads it) or IPv6 address; nil for a name.
    static func address(_ host: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_aton(host, &v4) != 0 { return withUnsafeBytes(of: &v4.s_addr) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, host, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }

    /// libpq's exact or wildcard match of a certificate name against the host name.
    static func nameMatches(_ pattern: [UInt8], host: [UInt8]) -> Bool {
        if equalIgnoringASCIICase(pattern[...], host[...]) { return true }
        // `*.rest`: the host ends in `.rest`, and the `*` stands for one label (no dot in it).
        guard pattern.count >= 3, pattern[0] == UInt8(ascii: "*"), pattern[1] == UInt8(ascii: "."), pattern.count <= host.count
        else { return false }
        let suffix = pattern[1...]
        guard equalIgnoringASCIICase(suffix, host[(host.count - suffix.count)...]) else { return false }
        guard let firstDot = host.firstIndex(of: UInt8(ascii: ".")) else { return false }
        return firstDot >= host.count - pattern.count
    }

    private static func equalIgnoringASCIICase(_ a: ArraySlice<UInt8>, _ b: ArraySlice<UInt8>) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { Self.lowered($0) == Self.lowered($1) }
    }

    private static func lowered(_ byte: UInt8) -> UInt8 {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte + 32 : byte
    }
}
