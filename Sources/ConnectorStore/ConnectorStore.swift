import ConnectorCore
import Encryption
import Foundation
import Logging
import SQLKit

/// The store: identity, connectors (metadata sealed under the key ring), sharing, workflows,
/// notifications and the audit log, over SQLite or PostgreSQL. Every method that writes more
/// than one row does so in one transaction.
public final class ConnectorStore: Sendable {
    public let database: StoreDatabase
    public let keyRing: KeyRing
    let logger: Logger
    /// When true, every notification also gets a webhook outbox row for ``WebhookDelivery``.
    public let queuesWebhooks: Bool
    /// Valid token checks (unknown tokens always reach the database).
    let authentications: ExpiringCache<TokenKey, Authentication>
    /// Connectors read by id.
    let connectorCache: ExpiringCache<ConnectorKey, StoredConnector>
    /// The last answer the database gave for each token, used only while the store is
    /// unavailable (so that tests of unsaved credentials, which need nothing else from the store,
    /// go on during an outage), for at most ``outageTokenGrace`` after that answer.
    let lastKnownAuthentications: ExpiringCache<TokenKey, Authentication>
    /// How long a token check answered by the database stands in for it during an outage.
    public static let outageTokenGrace = Duration.seconds(15 * 60)

    init(database: StoreDatabase, keyRing: KeyRing, logger: Logger, queuesWebhooks: Bool, readCacheTTL: Duration) {
        self.database = database
        self.keyRing = keyRing
        self.logger = logger
        self.queuesWebhooks = queuesWebhooks
        self.authentications = ExpiringCache(ttl: readCacheTTL)
        self.connectorCache = ExpiringCache(ttl: readCacheTTL)
        self.lastKnownAuthentications = ExpiringCache(ttl: Self.outageTokenGrace)
    }

    /// Opens the database, refuses one written by a newer build, applies pending migrations,
    /// checks that the key ring opens what is stored (a wrong key is a start-up error, not
    /// garbage), then runs `body` with the store and closes it when `body` returns or throws.
    /// - Parameter readCacheTTL: how long a valid token check or a connector read by id is
    ///   reused; a change made by another process (a revocation, a removed share) takes effect
    ///   within this time, one made through this store at once (zero: never reuse).
    /// - Parameter timeout: how long a request waits for a PostgreSQL connection before it fails
    ///   with ``StoreUnavailable``.
    public static func withStore<R>(
        _ location: StoreLocation, keyRing: KeyRing, logger: Logger, queuesWebhooks: Bool = false,
        readCacheTTL: Duration = .zero, timeout: Duration = .seconds(3), _ body: (ConnectorStore) async throws -> R
    ) async throws -> R {
        try await StoreDatabase.withDatabase(location, logger: logger, timeout: timeout) { database in
            let store = ConnectorStore(
                database: database, keyRing: keyRing, logger: logger, queuesWebhooks: queuesWebhooks,
                readCacheTTL: readCacheTTL)
            try await store.migrate()
            try await store.verifyKeys()
            return try await body(store)
        }
    }

    /// Drops every cached answer (after a change that may affect many of them).
    func forgetCachedReads() {
        authentications.clear()
        connectorCache.clear()
        lastKnownAuthentications.clear()
    }

    func migrate() async throws {
        let newest = try await database.read { db -> Int? in
            let exists = try await Self.tableExists("schema_migrations", backend: self.database.backend, db: db)
            guard exists else { return nil }
            return try await db.raw("SELECT MAX(version) AS v FROM schema_migrations").first()?.decode(column: "v", as: Int?.self)
        }
        if let newest, newest > Migrations.latest {
            throw StoreError(
                "the store is at schema version \(newest) but this build knows only up to \(Migrations.latest); upgrade connector-engine")
        }
        // Up to date: nothing is written, so a store that can only be read still opens (and serves reads).
        if newest == Migrations.latest { return }
        let applied = try await Migrations.apply(to: database, now: { Timestamp.now() })
        if !applied.isEmpty { logger.info("store migrated", metadata: ["versions": "\(applied)"]) }
    }

    /// Opens one stored ciphertext per key id in use; a key id missing from the ring, or a key
    /// that does not open its ciphertexts, stops start-up with a message naming the key id.
    func verifyKeys() async throws {
        let samples = try await database.read { db in
            try await db.raw("SELECT key_id, MIN(id) AS id FROM connectors GROUP BY key_id").all()
                .map { (try $0.decode(column: "key_id", as: String.self), try $0.decode(column: "id", as: String.self)) }
        }
        for (keyID, connectorID) in samples {
            guard keyRing.keyIDs.contains(keyID) else {
                throw StoreError(
                    "stored connectors are sealed with key '\(keyID)', which is not in the key ring; add it (any position) and restart")
            }
            guard
                let row = try await database.read({ db in
                    try await db.select().columns("organization_id", "metadata").from("connectors")
                        .where("id", .equal, connectorID).first()
                })
            else { continue }
            let organization = try row.decode(column: "organization_id", as: String.self)
            let sealed = try row.decode(column: "metadata", as: Data.self)
            do {
                _ = try keyRing.open(sealed, context: Self.sealingContext(organization: organization, connector: connectorID))
            } catch {
                throw StoreError("key '\(keyID)' in the key ring does not open the stored connectors: wrong key material for that id")
            }
        }
    }

    static func tableExists(_ name: String, backend: StoreDatabase.Backend, db: any SQLDatabase) async throws -> Bool {
        switch backend {
        case .sqlite:
            return try await db.raw("SELECT name FROM sqlite_master WHERE type = 'table' AND name = \(bind: name)").first() != nil
        case .postgres:
            return try await db.raw("SELECT to_regclass(\(bind: name)) IS NOT NULL AS present").first()?
                .decode(column: "present", as: Bool.self) ?? false
        }
    }

    /// Associated data of a connector's sealed metadata: binds the ciphertext to its row.
    static func sealingContext(organization: String, connector: String) -> String {
        "connector:\(organization)/\(connector)"
    }
}

/// Instants as stored: microseconds since 1970, as BIGINT on both backends.
extension ConnectorStore {
    /// A trivial query: whether the store answers (readiness).
    public func ping() async throws {
        _ = try await database.read { db in try await db.raw("SELECT 1 AS one").first() }
    }
}

enum Timestamp {
    static func now() -> Int64 { from(Date()) }
    static func from(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1_000_000).rounded()) }
    static func date(_ micros: Int64) -> Date { Date(timeIntervalSince1970: Double(micros) / 1_000_000) }
}
