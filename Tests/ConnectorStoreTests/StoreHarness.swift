import ConnectorStore
import Encryption
import Foundation
import Logging
import SQLKit
import TestSupport
import Testing

/// The two backends every store test runs on.
enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgres
    var testDescription: String { rawValue }
}

/// A fresh, empty store per test (a ``TestDatabase``), opened under a key ring.
struct StoreHarness: Sendable {
    let database: TestDatabase
    var backend: Backend { Backend(rawValue: database.kind.rawValue)! }
    var location: StoreLocation { database.location }
    /// The SQLite file or the PostgreSQL database name, for tests that inspect raw storage.
    var storageName: String { database.storageName }

    static let logger = Logger(label: "store-tests")

    static func ring(_ ids: String...) throws -> KeyRing {
        let keys = try ids.map { try EncryptionKey.generate(id: $0) }
        return try KeyRing(primary: keys[0], others: Array(keys.dropFirst()))
    }

    static func make(_ backend: Backend) async throws -> StoreHarness {
        StoreHarness(database: try await TestDatabase.make(TestDatabase.Kind(rawValue: backend.rawValue)!))
    }

    static func adminURL() throws -> String {
        try TestDatabase.adminURL()
    }

    /// Runs `body` with the store opened under `ring`.
    func withStore<R>(
        _ ring: KeyRing, queuesWebhooks: Bool = false, readCacheTTL: Duration = .zero, _ body: (ConnectorStore) async throws -> R
    ) async throws -> R {
        try await ConnectorStore.withStore(
            location, keyRing: ring, logger: Self.logger, queuesWebhooks: queuesWebhooks, readCacheTTL: readCacheTTL, body)
    }

    /// Runs `body` with a fresh harness and destroys its file or database afterwards, whatever
    /// happens.
    static func with<R>(_ backend: Backend, _ body: (StoreHarness) async throws -> R) async throws -> R {
        let harness = try await make(backend)
        do {
            let result = try await body(harness)
            await harness.database.destroy()
            return result
        } catch {
            await harness.database.destroy()
            throw error
        }
    }

    /// Runs `body` with an opened store and a fresh organization `acme` with users alice
    /// (admin), bob and carol (members); then closes and destroys everything.
    /// - Parameter readCacheTTL: how long the store reuses token checks and connector reads.
    static func withPopulatedStore(
        _ backend: Backend, queuesWebhooks: Bool = false, readCacheTTL: Duration = .zero,
        _ body: (ConnectorStore, Population) async throws -> Void
    ) async throws {
        try await with(backend) { harness in
            try await harness.withStore(try ring("k1"), queuesWebhooks: queuesWebhooks, readCacheTTL: readCacheTTL) { store in
                try await body(store, try await Population.create(in: store))
            }
        }
    }
}

/// The users of a populated store.
struct Population: Sendable {
    let organization: String
    let alice: User
    let bob: User
    let carol: User
    /// A member of another organization only.
    let mallory: User

    static func create(in store: ConnectorStore) async throws -> Population {
        _ = try await store.createOrganization(id: "acme", name: "Acme")
        _ = try await store.createOrganization(id: "other", name: "Other")
        let alice = try await store.createUser(email: "alice@acme.test", name: "Alice")
        let bob = try await store.createUser(email: "bob@acme.test", name: "Bob")
        let carol = try await store.createUser(email: "carol@acme.test", name: "Carol")
        let mallory = try await store.createUser(email: "mallory@other.test", name: "Mallory")
        try await store.setMembership(organization: "acme", userID: alice.id, role: .admin)
        try await store.setMembership(organization: "acme", userID: bob.id, role: .member)
        try await store.setMembership(organization: "acme", userID: carol.id, role: .member)
        try await store.setMembership(organization: "other", userID: mallory.id, role: .admin)
        return Population(organization: "acme", alice: alice, bob: bob, carol: carol, mallory: mallory)
    }
}
