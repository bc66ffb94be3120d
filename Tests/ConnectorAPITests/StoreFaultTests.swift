import ConnectorCore
import ConnectorStore
import Encryption
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import ProbeEngine
import SQLKit
import TestSupport
import Testing

@testable import ConnectorAPI

/// Issue 13: a store that can only be read (here a PostgreSQL database set read-only, as a standby
/// or a read-only database is) refuses writes with 503 `store_read_only`, keeps nothing of them,
/// and goes on serving reads. (A full disk, 507 `store_full`, is checked on a real full file
/// system by scripts/store_faults.py.)
@Suite struct StoreFaultTests {
    @Test func aReadOnlyStoreRefusesWritesWith503AndServesReads() async throws {
        try await TestDatabase.with(.postgres) { try await Self.run(on: $0) }
    }

    private static func run(on database: TestDatabase) async throws {
        let engine = try CRUDWorld.closedEndpointsEngine()
        defer { engine.shutdown() }
        let ring = try KeyRing(primary: try EncryptionKey.generate(id: "k"))
        let logger = Logger(label: "test")
        let body: JSONValue = [
            "connector_id": "postgresql|6db35f45-be11-4fd5-80c5-85c48183afbb", "connector_name": "kept",
            "connector_metadata": ["host": "db.example.com", "port": "5432", "database": "d", "user": "u", "password": "p"],
        ]
        // Written while the store could be written: a token and one connector.
        let token = try await ConnectorStore.withStore(database.location, keyRing: ring, logger: logger) { store in
            let (_, _, token) = try await store.bootstrap(organization: "default", email: "admin@default.test")
            try await Application(router: buildRouter(engine: engine, store: store)).test(.router) { client in
                let api = APIClient(client: client, base: "/api/v1/unstract/default")
                let created = try await api.call(.post, "/connector/", token: token.secret, body: body)
                #expect(created.status == 201, "\(created.text)")
            }
            return token.secret
        }
        try await StoreDatabase.withDatabase(.postgres(url: try TestDatabase.adminURL()), logger: logger) { admin in
            try await admin.read { db in
                try await db.raw("ALTER DATABASE \(ident: database.storageName) SET default_transaction_read_only = on").run()
            }
        }
        try await ConnectorStore.withStore(database.location, keyRing: ring, logger: logger) { store in
            try await Application(router: buildRouter(engine: engine, store: store)).test(.router) { client in
                let api = APIClient(client: client, base: "/api/v1/unstract/default")
                let refused = try await api.call(.post, "/connector/", token: token, body: body)
                #expect(refused.status == 503 && refused.firstError?["code"] == "store_read_only", "\(refused.text)")
                #expect(refused.headers[.retryAfter] == "5" && refused.json["type"] == "server_error")
                let listed = try await api.call(.get, "/connector/", token: token)
                #expect(listed.status == 200 && listed.json.arrayValue?.count == 1, "\(listed.text)")
            }
        }
    }
}
