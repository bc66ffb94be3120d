import ConnectorCore
import Foundation
import Synchronization

/// Files of CA certificates for drivers that take a path (libpq's `sslrootcert`, MariaDB's
/// `ssl_ca`). Each distinct PEM text is written once, 0600 in a private 0700 directory, and
/// shared by every probe that trusts the same CAs.
public final class TrustStore: Sendable {
    /// The system CA bundle; loading it costs tens of milliseconds per connection, so prefer
    /// ``systemDirectory`` where a driver accepts a hashed directory.
    public static let systemBundle = "/etc/ssl/certs/ca-certificates.crt"
    /// The system's hashed CA directory, read lazily by OpenSSL.
    public static let systemDirectory = "/etc/ssl/certs"

    public static let shared = TrustStore()

    private let files = Mutex<[String: String]>([:])
    private let directory: String
    private let created = Mutex(false)

    init() {
        // An unpredictable name, created exclusively below: a directory someone else made first
        // is never used.
        let base = FileManager.default.temporaryDirectory.path
        directory = "\(base)/connector-engine-trust-\(UUID().uuidString)"
    }

    /// Removes the files written so far; call when the engine stops.
    public func removeFiles() {
        files.withLock { $0.removeAll() }
        created.withLock { made in
            if made { try? FileManager.default.removeItem(atPath: directory) }
            made = false
        }
    }

    /// The path of a file holding `pem`, written on first use.
    /// - Throws: if the file cannot be written.
    public func file(for pem: String) throws -> String {
        let text = Self.normalized(pem)
        if let known = files.withLock({ $0[text] }) { return known }
        try created.withLock { made in
            guard !made else { return }
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
            made = true
        }
        let path = "\(directory)/ca-\(UUID().uuidString).pem"
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
        else { throw CocoaError(.fileWriteUnknown) }
        return files.withLock { files in
            if let existing = files[text] {
                try? FileManager.default.removeItem(atPath: path)
                return existing
            }
            files[text] = path
            return path
        }
    }

    /// The path of a file holding `pem` for the metadata field `field`.
    /// - Throws: ``MetadataError`` naming the field when the file cannot be written.
    public func file(for pem: String, field: String) throws(MetadataError) -> String {
        do {
            return try file(for: pem)
        } catch {
            throw MetadataError(attr: field, "'\(field)' could not be stored for the driver.")
        }
    }

    /// Restores PEM line structure lost when a certificate is pasted into a one-line form field:
    /// markers on their own lines, base64 wrapped at 64 columns.
    static func normalized(_ pem: String) -> String {
        let begin = "-----BEGIN CERTIFICATE-----"
        let end = "-----END CERTIFICATE-----"
        var output = ""
        var rest = Substring(pem)
        while let start = rest.range(of: begin), let stop = rest[start.upperBound...].range(of: end) {
            let body = rest[start.upperBound..<stop.lowerBound].filter { !$0.isWhitespace }
            output += begin + "\n"
            var line = Substring(body)
            while !line.isEmpty {
                output += line.prefix(64) + "\n"
                line = line.dropFirst(64)
            }
            output += end + "\n"
            rest = rest[stop.upperBound...]
        }
        return output.isEmpty ? pem : output
    }
}
