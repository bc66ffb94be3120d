import ConnectorCore
import Foundation
import Synchronization

/// A CA file a probe holds while its driver may read it. The store keeps the file at least as
/// long as one of these exists.
public final class TrustFile: Sendable {
    /// The file's path, for the driver.
    public let path: String
    private let release: (@Sendable () -> Void)?

    /// A file the store does not manage (the system's CA bundle).
    public init(unmanaged path: String) {
        self.path = path
        self.release = nil
    }

    init(path: String, release: @escaping @Sendable () -> Void) {
        self.path = path
        self.release = release
    }

    deinit { release?() }
}

/// Files of CA certificates for drivers that take a path (libpq's `sslrootcert`, MariaDB's
/// `ssl_ca`, curl's `CAINFO`). Each distinct set of certificates (by ``TrustAnchors/digest``) is
/// written once, 0600 in a private 0700 directory, and shared by every probe that trusts it. At
/// most ``keptUnused`` files no probe holds stay on disk (least recently used go first), so the
/// files number at most that plus the probes in flight, whatever callers send.
public final class TrustStore: Sendable {
    /// The system CA bundle; loading it costs tens of milliseconds per connection, so prefer
    /// ``systemDirectory`` where a driver accepts a hashed directory.
    public static let systemBundle = "/etc/ssl/certs/ca-certificates.crt"
    /// The system's hashed CA directory, read lazily by OpenSSL.
    public static let systemDirectory = "/etc/ssl/certs"

    public static let shared = TrustStore()

    private struct Entry {
        var path: String
        var holders: Int
        var lastUse: UInt64
    }

    private struct State {
        var entries: [[UInt8]: Entry] = [:]
        var directoryMade = false
        var clock: UInt64 = 0
    }

    /// Files kept on disk while no probe holds them.
    let keptUnused: Int
    private let directory: String
    private let state = Mutex(State())

    init(keptUnused: Int = 64) {
        self.keptUnused = keptUnused
        // An unpredictable name, created exclusively below: a directory someone else made first
        // is never used.
        directory = "\(FileManager.default.temporaryDirectory.path)/connector-engine-trust-\(UUID().uuidString)"
    }

    /// Removes every file and the directory; call when the engine stops.
    public func removeFiles() {
        state.withLock { state in
            if state.directoryMade { try? FileManager.default.removeItem(atPath: directory) }
            state = State()
        }
    }

    /// A held file with the certificates of `anchors`, written on first use.
    /// - Throws: ``MetadataError`` naming `field` when the file cannot be written.
    public func file(for anchors: TrustAnchors, field: String) throws(MetadataError) -> TrustFile {
        do {
            return try hold(anchors)
        } catch {
            throw MetadataError(attr: field, "'\(field)' could not be stored for the driver.")
        }
    }

    /// Files on disk now (for tests).
    var fileCount: Int { state.withLock { $0.entries.count } }

    private func hold(_ anchors: TrustAnchors) throws -> TrustFile {
        let key = anchors.digest
        let path = try state.withLock { state throws -> String in
            state.clock += 1
            if var entry = state.entries[key] {
                entry.holders += 1
                entry.lastUse = state.clock
                state.entries[key] = entry
                return entry.path
            }
            if !state.directoryMade {
                try FileManager.default.createDirectory(
                    atPath: directory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
                state.directoryMade = true
            }
            // Written under the lock: files are small (64 KiB at most) and a new set is rare next
            // to probes that reuse one.
            let path = "\(directory)/ca-\(UUID().uuidString).pem"
            guard FileManager.default.createFile(atPath: path, contents: Data(anchors.pemText.utf8), attributes: [.posixPermissions: 0o600])
            else { throw CocoaError(.fileWriteUnknown) }
            state.entries[key] = Entry(path: path, holders: 1, lastUse: state.clock)
            return path
        }
        return TrustFile(path: path) { [self] in release(key) }
    }

    private func release(_ key: [UInt8]) {
        state.withLock { state in
            state.entries[key]?.holders -= 1
            // Nothing to evict while every file could be kept (the common case: one CA set).
            guard state.entries.count > keptUnused else { return }
            let unused = state.entries.filter { $0.value.holders == 0 }
            guard unused.count > keptUnused else { return }
            for (oldKey, entry) in unused.sorted(by: { $0.value.lastUse < $1.value.lastUse }).prefix(unused.count - keptUnused) {
                try? FileManager.default.removeItem(atPath: entry.path)
                state.entries[oldKey] = nil
            }
        }
    }
}
