import Foundation
import LinuxIO

/// Where the key ring comes from: an environment variable or a key file, and in development a
/// key file generated on first start.
///
/// Text format (both sources): entries `id:base64-of-32-bytes`, one per line or separated by
/// commas; the first is the primary key; lines starting with `#` are comments.
public enum KeyRingSource {
    /// The environment variable that may hold the key ring.
    public static let environmentVariable = "CONNECTOR_ENGINE_KEYS"

    /// How the key ring was obtained.
    public enum Origin: Sendable, Equatable {
        case environment
        case file(String)
        /// A new key was generated into this file (development only).
        case generated(String)
    }

    /// Parses key-ring text.
    /// - Parameter origin: where the text came from, for error messages.
    /// - Throws: ``KeyRingError`` naming the entry at fault (never its key material).
    public static func parse(_ text: String, origin: String) throws(KeyRingError) -> KeyRing {
        let entries = text.split(whereSeparator: { $0 == "\n" || $0 == "," })
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        guard !entries.isEmpty else { throw KeyRingError("\(origin) holds no key") }
        var keys: [EncryptionKey] = []
        for (index, entry) in entries.enumerated() {
            let parts = entry.split(separator: ":", maxSplits: 1).map(String.init)
            guard parts.count == 2, let bytes = Data(base64Encoded: parts[1]) else {
                throw KeyRingError("\(origin): entry \(index + 1) is not 'id:base64'")
            }
            keys.append(try EncryptionKey(id: parts[0], bytes: Array(bytes)))
        }
        return try KeyRing(primary: keys[0], others: Array(keys.dropFirst()))
    }

    /// Loads the key ring: the environment variable when set, else `keyFile` when it exists; when
    /// neither, development creates `keyFile` (0600) with a new key, and production fails.
    /// - Throws: ``KeyRingError`` with a message fit for a start-up error.
    public static func load(environment: [String: String], keyFile: String, production: Bool) throws(KeyRingError) -> (KeyRing, Origin) {
        if let text = environment[environmentVariable], !text.isEmpty {
            return (try parse(text, origin: environmentVariable), .environment)
        }
        if FileManager.default.fileExists(atPath: keyFile) {
            if let mode = SecureFile.permissions(of: keyFile), mode & 0o077 != 0 {
                throw KeyRingError("key file \(keyFile) is readable by others (mode \(String(mode, radix: 8))); chmod 600 it")
            }
            guard let text = try? String(contentsOfFile: keyFile, encoding: .utf8) else {
                throw KeyRingError("key file \(keyFile) cannot be read")
            }
            return (try parse(text, origin: "key file \(keyFile)"), .file(keyFile))
        }
        guard !production else {
            throw KeyRingError(
                "no encryption key: set \(environmentVariable) or provide the key file \(keyFile) (production mode never generates one)")
        }
        let key = try EncryptionKey.generate(id: "k\(Int(Date().timeIntervalSince1970))")
        let text = "# Connector Engine encryption keys: the first line is the primary key. Keep this file secret.\n\(key.specification)\n"
        do {
            try SecureFile.createExclusive(path: keyFile, contents: Array(text.utf8))
        } catch {
            throw KeyRingError("cannot create the key file \(keyFile): \(error)")
        }
        return (try KeyRing(primary: key), .generated(keyFile))
    }
}
