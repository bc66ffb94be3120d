import CTLS
import Foundation

/// A SCRAM-SHA-256 exchange (RFC 5802, RFC 7677) as a PostgreSQL client runs it, with
/// `tls-server-end-point` channel binding for SCRAM-SHA-256-PLUS (RFC 5929). Pure: the nonce and
/// the derived keys come in, messages go out.
public struct SCRAMClient: Sendable {
    /// What the client says about channel binding in its GS2 header.
    public enum Binding: Sendable, Equatable {
        /// `n,,`: the client does not bind (no TLS).
        case unsupported
        /// `y,,`: the client could bind but the server offered no -PLUS mechanism.
        case notOffered
        /// `p=tls-server-end-point,,` with this hash of the server's certificate.
        case tlsServerEndPoint([UInt8])

        var header: String {
            switch self {
            case .unsupported: "n,,"
            case .notOffered: "y,,"
            case .tlsServerEndPoint: "p=tls-server-end-point,,"
            }
        }
    }

    /// The server's first message, parsed.
    public struct ServerFirst: Sendable, Equatable {
        public let combinedNonce: String
        public let salt: [UInt8]
        public let iterations: Int
        let message: String
    }

    /// The user name sent in the client's first message; PostgreSQL ignores it (the user comes
    /// from the StartupMessage), and libpq sends it empty.
    let user: String
    /// The client's nonce: printable, without commas.
    let nonce: String
    public let binding: Binding

    public init(nonce: String, binding: Binding, user: String = "") {
        self.nonce = nonce
        self.binding = binding
        self.user = user
    }

    /// The most iterations a server may ask for.
    public static let maxIterations = 1_000_000

    /// A fresh nonce: 18 random bytes in base64, as libpq makes it.
    public static func makeNonce() -> String {
        // OpenSSL's generator, seeded from the system once: no getrandom call per login. It
        // fails only when it cannot be seeded; the system generator stands in then.
        var bytes = [UInt8](repeating: 0, count: 18)
        if ctls_random_bytes(&bytes, bytes.count) != 1 {
            var generator = SystemRandomNumberGenerator()
            for index in bytes.indices { bytes[index] = generator.next() }
        }
        return Data(bytes).base64EncodedString()
    }

    /// The SASL mechanism this exchange is.
    public var mechanism: String {
        if case .tlsServerEndPoint = binding { return "SCRAM-SHA-256-PLUS" }
        return "SCRAM-SHA-256"
    }

    private var firstMessageBare: String { "n=\(user),r=\(nonce)" }

    /// The client-first-message.
    public var firstMessage: [UInt8] { Array((binding.header + firstMessageBare).utf8) }

    /// Parses the server-first-message and checks that its nonce extends ours.
    public func parse(serverFirst bytes: [UInt8]) throws(SCRAMError) -> ServerFirst {
        guard let message = String(validatingUTF8CString: bytes) else { throw SCRAMError.malformed }
        let attributes = try Self.attributes(bytes)
        guard let combined = attributes.value("r"), let salt64 = attributes.value("s"), let count = attributes.value("i") else {
            throw SCRAMError.malformed
        }
        let nonceBytes = Array(nonce.utf8)
        guard combined.count > nonceBytes.count, combined.starts(with: nonceBytes) else { throw SCRAMError.nonceMismatch }
        guard let salt = Data(base64Encoded: Data(salt64)), !salt.isEmpty else { throw SCRAMError.malformed }
        // The server chooses the count; past a million (PostgreSQL's default is 4,096) the
        // derivation would hold a reactor thread for a noticeable time.
        guard let iterations = Int(String(decoding: count, as: UTF8.self)), (1...Self.maxIterations).contains(iterations) else {
            throw SCRAMError.malformed
        }
        return ServerFirst(
            combinedNonce: String(decoding: combined, as: UTF8.self), salt: Array(salt), iterations: iterations, message: message)
    }

    /// The client-final-message with its proof, and the server signature the server's final
    /// message must carry.
    public func finalMessage(_ server: ServerFirst, keys: SCRAMKeys) -> (message: [UInt8], serverSignature: [UInt8]) {
        var channel = Array(binding.header.utf8)
        if case .tlsServerEndPoint(let hash) = binding { channel += hash }
        let withoutProof = "c=\(Data(channel).base64EncodedString()),r=\(server.combinedNonce)"
        let authMessage = Array("\(firstMessageBare),\(server.message),\(withoutProof)".utf8)
        let storedKey = Self.sha256(keys.clientKey)
        let clientSignature = Self.hmac(storedKey, authMessage)
        let proof = zip(keys.clientKey, clientSignature).map { $0 ^ $1 }
        let serverSignature = Self.hmac(keys.serverKey, authMessage)
        return (Array("\(withoutProof),p=\(Data(proof).base64EncodedString())".utf8), serverSignature)
    }

    /// Checks the server-final-message: the server proves it knows the password too.
    public static func verify(serverFinal bytes: [UInt8], expected: [UInt8]) throws(SCRAMError) {
        guard String(validatingUTF8CString: bytes) != nil else { throw SCRAMError.malformed }
        let attributes = try attributes(bytes)
        if let error = attributes.value("e") { throw SCRAMError.serverError(String(decoding: error, as: UTF8.self)) }
        guard let signature = attributes.value("v").flatMap({ Data(base64Encoded: Data($0)) }) else { throw SCRAMError.malformed }
        // Not secret-dependent in a way that matters (the server sent it), but compare fully anyway.
        guard signature.count == expected.count, zip(signature, expected).reduce(UInt8(0), { $0 | ($1.0 ^ $1.1) }) == 0 else {
            throw SCRAMError.badServerSignature
        }
    }

    /// HMAC-SHA-256 (through CTLS: a call costs about a microsecond, where the generic layers of
    /// a Swift crypto library cost tens).
    static func hmac(_ key: [UInt8], _ message: [UInt8]) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: 32) { out, count in
            ctls_hmac_sha256(key, key.count, message, message.count, out.baseAddress)
            count = 32
        }
    }

    static func sha256(_ data: [UInt8]) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: 32) { out, count in
            ctls_sha256(data, data.count, out.baseAddress)
            count = 32
        }
    }

    /// `a=value` pairs separated by commas (a value may contain `=`; never a comma).
    private static func attributes(_ message: [UInt8]) throws(SCRAMError) -> [(name: UInt8, value: ArraySlice<UInt8>)] {
        var attributes: [(name: UInt8, value: ArraySlice<UInt8>)] = []
        for part in message.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false) {
            guard part.count >= 2, part[part.startIndex + 1] == UInt8(ascii: "=") else { throw SCRAMError.malformed }
            attributes.append((part[part.startIndex], part.dropFirst(2)))
        }
        return attributes
    }
}

extension [(name: UInt8, value: ArraySlice<UInt8>)] {
    /// The value of the last attribute named `name`.
    fileprivate func value(_ name: Unicode.Scalar) -> ArraySlice<UInt8>? {
        last { $0.name == UInt8(ascii: name) }?.value
    }
}

/// The two keys SCRAM derives from a password and a salt: what a cache may keep instead of
/// repeating the derivation's thousands of HMACs.
public struct SCRAMKeys: Sendable, Equatable {
    public internal(set) var clientKey: [UInt8]
    public internal(set) var serverKey: [UInt8]

    public init(clientKey: [UInt8], serverKey: [UInt8]) {
        self.clientKey = clientKey
        self.serverKey = serverKey
    }

    /// The keys of `saltedPassword` (SaltedPassword = PBKDF2-HMAC-SHA-256 of the normalized
    /// password, the salt and the iteration count).
    public init(saltedPassword: [UInt8]) {
        self.init(
            clientKey: SCRAMClient.hmac(saltedPassword, Array("Client Key".utf8)),
            serverKey: SCRAMClient.hmac(saltedPassword, Array("Server Key".utf8)))
    }
}

/// Why a SCRAM exchange cannot go on.
public enum SCRAMError: Error, Equatable, Sendable {
    /// A server message that is not SCRAM.
    case malformed
    /// The server's nonce does not extend the client's.
    case nonceMismatch
    /// The server ended the exchange with `e=` and this reason.
    case serverError(String)
    /// The server does not know the password: its signature is wrong.
    case badServerSignature
}

extension String {
    /// The UTF-8 text of `bytes`, which must not contain NUL; nil when it is not UTF-8.
    fileprivate init?(validatingUTF8CString bytes: [UInt8]) {
        guard !bytes.contains(0), let text = String(validating: bytes, as: UTF8.self) else { return nil }
        self = text
    }
}
