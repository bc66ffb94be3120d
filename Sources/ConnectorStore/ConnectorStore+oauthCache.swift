import ConnectorCore
import Foundation
import OAuthFlow
import SQLKit

/// The OAuth cache kept in the store (DESIGN §5, when no Redis is configured): the table
/// `oauth_cache` holds values the flow already sealed, each with an expiry enforced on every
/// read; expired rows are pruned.
extension ConnectorStore: OAuthCacheStorage {
    public func store(_ key: String, value: [UInt8], ttl: Duration) async throws {
        try await storeOAuthEntry(key, value: value, ttl: ttl, now: Date())
    }

    public func fetch(_ key: String) async throws -> [UInt8]? {
        try await fetchOAuthEntry(key, now: Date())
    }

    public func take(_ key: String) async throws -> [UInt8]? {
        try await takeOAuthEntry(key, now: Date())
    }

    @discardableResult
    public func remove(_ key: String, ifValue expected: [UInt8]) async throws -> Bool {
        try await database.write { db in
            try await !db.delete(from: "oauth_cache").where("cache_key", .equal, key).where("sealed", .equal, SQLBind(Data(expected)))
                .returning("cache_key").all().isEmpty
        }
    }

    /// ``store(_:value:ttl:)`` at a given time (tests move the clock).
    public func storeOAuthEntry(_ key: String, value: [UInt8], ttl: Duration, now: Date) async throws {
        let expires = Timestamp.from(now) + ttl.components.seconds * 1_000_000 + ttl.components.attoseconds / 1_000_000_000_000
        try await database.write { db in
            try await db.delete(from: "oauth_cache").where("cache_key", .equal, key).run()
            try await db.insert(into: "oauth_cache").columns("cache_key", "sealed", "expires_at")
                .values(SQLBind(key), SQLBind(Data(value)), SQLBind(expires)).run()
        }
    }

    /// ``fetch(_:)`` at a given time.
    public func fetchOAuthEntry(_ key: String, now: Date) async throws -> [UInt8]? {
        let row = try await database.read { db in
            try await db.select().columns("sealed", "expires_at").from("oauth_cache").where("cache_key", .equal, key).first()
        }
        guard let row, try row.decode(column: "expires_at", as: Int64.self) > Timestamp.from(now) else { return nil }
        return Array(try row.decode(column: "sealed", as: Data.self))
    }

    /// ``take(_:)`` at a given time: one `DELETE … RETURNING`, so of two takers one gets the row.
    public func takeOAuthEntry(_ key: String, now: Date) async throws -> [UInt8]? {
        let row = try await database.write { db in
            try await db.delete(from: "oauth_cache").where("cache_key", .equal, key).returning("sealed", "expires_at").first()
        }
        guard let row, try row.decode(column: "expires_at", as: Int64.self) > Timestamp.from(now) else { return nil }
        return Array(try row.decode(column: "sealed", as: Data.self))
    }

    /// Removes expired entries. - Returns: how many went.
    @discardableResult
    public func pruneOAuthEntries(now: Date = Date()) async throws -> Int {
        try await database.write { db in
            try await db.delete(from: "oauth_cache").where("expires_at", .lessThanOrEqual, Timestamp.from(now)).returning("cache_key")
                .all().count
        }
    }
}
