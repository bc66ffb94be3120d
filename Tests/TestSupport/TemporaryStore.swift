import ConnectorStore
import Encryption
import Foundation
import Logging

/// A throw-away SQLite store for API tests: organization `default` with an admin whose token is
/// `adminToken`, plus helpers to add members and tokens.
public struct TemporaryStore: Sendable {
    public let store: ConnectorStore
    public let folder: String
    public let admin: User
    public let adminToken: String

    /// A new user who is `role` in `organization` (or in none when nil), and a token for them.
    public func member(_ name: String, of organization: String? = "default", role: MembershipRole = .member) async throws -> (User, String) {
        let user = try await store.createUser(email: "\(name)@example.test", name: name)
        if let organization { try await store.setMembership(organization: organization, userID: user.id, role: role) }
        return (user, try await store.issueToken(userID: user.id, name: "test").secret)
    }

    /// Runs `body` with a fresh store and destroys it afterwards, whatever happens.
    public static func with<R: Sendable>(
        organization: String = "default", queuesWebhooks: Bool = false, _ body: (TemporaryStore) async throws -> R
    ) async throws -> R {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ce-store-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var logger = Logger(label: "test-store")
        logger.logLevel = .warning
        let ring = try KeyRing(primary: try EncryptionKey.generate(id: "test"))
        return try await ConnectorStore.withStore(
            .sqlite(path: folder + "/store.sqlite"), keyRing: ring, logger: logger, queuesWebhooks: queuesWebhooks
        ) { store in
            let (_, admin, token) = try await store.bootstrap(organization: organization, email: "admin@\(organization).test")
            return try await body(TemporaryStore(store: store, folder: folder, admin: admin, adminToken: token.secret))
        }
    }
}
