import ConnectorStore
import Foundation
import Logging
import SQLKit

/// A fresh, empty place for a store: a new SQLite file in a temporary folder, or a new database
/// on the PostgreSQL server of `scripts/services.sh` (`CE_STORE_PG_URL`, a role with CREATEDB).
public struct TestDatabase: Sendable {
    public enum Kind: String, CaseIterable, Sendable {
        case sqlite, postgres
    }

    public struct NotConfigured: Error, CustomStringConvertible {
        public var description: String {
            "CE_STORE_PG_URL is not set: run the tests with `make test`, which starts scripts/services.sh"
        }
    }

    public let kind: Kind
    public let location: StoreLocation
    /// The SQLite file or the PostgreSQL database name, for tests that inspect raw storage.
    public let storageName: String
    private let folder: String?

    static let logger = Logger(label: "test-database")

    public static func make(_ kind: Kind) async throws -> TestDatabase {
        let suffix = UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(12)
        switch kind {
        case .sqlite:
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("store-test-\(suffix)").path
            let path = folder + "/store.sqlite"
            return TestDatabase(kind: kind, location: .sqlite(path: path), storageName: path, folder: folder)
        case .postgres:
            let admin = try adminURL()
            let name = "store_test_\(suffix)"
            try await StoreDatabase.withDatabase(.postgres(url: admin), logger: logger) { database in
                try await database.read { db in try await db.raw("CREATE DATABASE \(ident: name)").run() }
            }
            let url = admin.replacingOccurrences(of: "/postgres?", with: "/\(name)?")
            return TestDatabase(kind: kind, location: .postgres(url: url), storageName: name, folder: nil)
        }
    }

    /// A fresh place of `kind` for the length of `body`, removed afterwards whether `body`
    /// returns or throws.
    public static func with<R>(_ kind: Kind, _ body: (TestDatabase) async throws -> R) async throws -> R {
        let database = try await make(kind)
        do {
            let result = try await body(database)
            await database.destroy()
            return result
        } catch {
            await database.destroy()
            throw error
        }
    }

    public static func adminURL() throws -> String {
        guard let url = ProcessInfo.processInfo.environment["CE_STORE_PG_URL"] else { throw NotConfigured() }
        return url
    }

    /// Removes the file or database.
    public func destroy() async {
        if let folder { try? FileManager.default.removeItem(atPath: folder) }
        if kind == .postgres, let admin = try? Self.adminURL() {
            try? await StoreDatabase.withDatabase(.postgres(url: admin), logger: Self.logger) { database in
                try await database.read { db in try await db.raw("DROP DATABASE IF EXISTS \(ident: storageName)").run() }
            }
        }
    }
}
