import Crypto
import Foundation

/// Why a key ring could not be built or a sealed value could not be opened. Never carries key
/// material or plaintext.
public struct KeyRingError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String

    init(_ description: String) {
        self.description = description
    }
}

/// One AES-256 key and the id written into everything it seals.
public struct EncryptionKey: Sendable {
    public let id: String
    let key: SymmetricKey

    /// - Throws: ``KeyRingError`` if the id is not 1–32 characters of `A-Z a-z 0-9 _ -`, or the key
    ///   is not 32 bytes.
    public init(id: String, bytes: [UInt8]) throws(KeyRingError) {
        guard (1...32).contains(id.utf8.count),
            id.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "_" || $0 == "-") })
        else {
            throw KeyRingError("key id '\(id)' must be 1-32 characters of letters, digits, '_' and '-'")
        }
        guard bytes.count == 32 else { throw KeyRingError("key '\(id)' must be 32 bytes (AES-256), not \(bytes.count)") }
        self.id = id
        self.key = SymmetricKey(data: bytes)
    }

    /// A new random key.
    public static func generate(id: String) throws(KeyRingError) -> EncryptionKey {
        try EncryptionKey(id: id, bytes: SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) })
    }

    /// The key as the key-ring text format writes it: `id:base64`.
    public var specification: String {
        "\(id):\(key.withUnsafeBytes { Data($0).base64EncodedString() })"
    }
}

/// AES-256-GCM under a ring of keys: the primary key seals, every key of the ring opens. Each
/// sealed value names its key, and its associated data binds it to a context (an organization and
/// a connector), so a sealed value moved to another row does not open.
///
/// Sealed format: `CE1` · key-id length (1 byte) · key id · nonce (12) · ciphertext · tag (16).
public struct KeyRing: Sendable {
    public let primary: EncryptionKey
    private let keys: [String: EncryptionKey]

    private static let magic: [UInt8] = Array("CE1".utf8)

    /// - Parameters:
    ///   - primary: the key that seals.
    ///   - others: older keys that still open what they sealed.
    /// - Throws: ``KeyRingError`` if two keys share an id.
    public init(primary: EncryptionKey, others: [EncryptionKey] = []) throws(KeyRingError) {
        var keys = [primary.id: primary]
        for key in others {
            guard keys[key.id] == nil else { throw KeyRingError("key id '\(key.id)' appears twice") }
            keys[key.id] = key
        }
        self.primary = primary
        self.keys = keys
    }

    /// The ids of every key in the ring, primary first.
    public var keyIDs: [String] {
        [primary.id] + keys.keys.filter { $0 != primary.id }.sorted()
    }

    /// Seals `plaintext` under the primary key, bound to `context`.
    public func seal(_ plaintext: Data, context: String) throws -> Data {
        let header = Self.magic + [UInt8(primary.id.utf8.count)] + Array(primary.id.utf8)
        let box = try AES.GCM.seal(plaintext, using: primary.key, authenticating: Self.associatedData(header, context))
        return Data(header) + box.nonce.withUnsafeBytes { Data($0) } + box.ciphertext + box.tag
    }

    /// Opens a value sealed by any key of the ring for the same `context`.
    /// - Throws: ``KeyRingError`` when the value is not sealed by us, names a key the ring does not
    ///   hold, or fails authentication (another key with the same id, another context, tampering).
    public func open(_ sealed: Data, context: String) throws(KeyRingError) -> Data {
        let bytes = [UInt8](sealed)
        guard bytes.count >= 4, Array(bytes[0..<3]) == Self.magic else { throw KeyRingError("value is not sealed by this engine") }
        let idLength = Int(bytes[3])
        let headerLength = 4 + idLength
        guard bytes.count >= headerLength + 12 + 16 else { throw KeyRingError("sealed value is truncated") }
        let id = String(decoding: bytes[4..<headerLength], as: UTF8.self)
        guard let key = keys[id] else { throw KeyRingError("sealed with key '\(id)', which is not in the key ring") }
        let header = Array(bytes[0..<headerLength])
        do {
            let box = try AES.GCM.SealedBox(
                nonce: AES.GCM.Nonce(data: bytes[headerLength..<(headerLength + 12)]),
                ciphertext: bytes[(headerLength + 12)..<(bytes.count - 16)], tag: bytes[(bytes.count - 16)...])
            return try AES.GCM.open(box, using: key.key, authenticating: Self.associatedData(header, context))
        } catch {
            throw KeyRingError("sealed value does not authenticate under key '\(id)' for this row")
        }
    }

    /// The id of the key that sealed `sealed`, or `nil` if it is not a sealed value.
    public func keyID(of sealed: Data) -> String? {
        let bytes = [UInt8](sealed.prefix(4 + 255))
        guard bytes.count >= 4, Array(bytes[0..<3]) == Self.magic, bytes.count >= 4 + Int(bytes[3]) else { return nil }
        return String(decoding: bytes[4..<(4 + Int(bytes[3]))], as: UTF8.self)
    }

    /// Whether `sealed` is already sealed by the primary key (re-encryption can skip it).
    public func isSealedWithPrimary(_ sealed: Data) -> Bool {
        keyID(of: sealed) == primary.id
    }

    private static func associatedData(_ header: [UInt8], _ context: String) -> Data {
        Data(header) + Data(context.utf8)
    }
}
