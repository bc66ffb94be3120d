import ArgumentParser
import ConnectorStore
import Encryption
import Foundation
import Logging

/// Where the store and its key ring live; shared by `serve` and `admin`.
struct StoreOptions: ParsableArguments {
    @Option(help: "Folder of the SQLite store and the development key file (used unless DATABASE_URL is set).")
    var dataDir = "./data"

    var keyFile: String { (dataDir as NSString).appendingPathComponent("encryption.keys") }

    /// Loads the key ring, opens the store and runs `body` with it; prints where a new key was
    /// generated.
    /// - Parameter production: never generate a key; a missing key is an error.
    func withStore<R>(
        production: Bool, logger: Logger, queuesWebhooks: Bool = false, readCacheTTL: Duration = .zero,
        timeout: Duration = .seconds(3), _ body: (ConnectorStore) async throws -> R
    ) async throws -> R {
        let environment = ProcessInfo.processInfo.environment
        let location = StoreLocation.from(environment: environment, dataDirectory: dataDir)
        if !FileManager.default.fileExists(atPath: dataDir) {
            try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        let keyRing: KeyRing
        do {
            let (ring, origin) = try KeyRingSource.load(environment: environment, keyFile: keyFile, production: production)
            keyRing = ring
            if case .generated(let path) = origin {
                Console.write(
                    "No encryption key was configured: generated one into \(path) (mode 0600). Back it up; without it the stored credentials cannot be read. Set \(KeyRingSource.environmentVariable) or keep that file in production.\n"
                )
            }
        } catch {
            throw ValidationError("encryption key: \(error.description)")
        }
        do {
            return try await ConnectorStore.withStore(
                location, keyRing: keyRing, logger: logger, queuesWebhooks: queuesWebhooks, readCacheTTL: readCacheTTL,
                timeout: timeout, body)
        } catch let error as StoreError {
            throw ValidationError("store (\(location.redacted)): \(error.description)")
        }
    }
}

/// Unbuffered writes to standard output: a buffered print would not appear until exit when
/// standard output is a pipe or a file.
enum Console {
    static func write(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}
