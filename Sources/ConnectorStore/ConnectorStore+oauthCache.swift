import ConnectorCore
import Encryption
import Foundation
import SQLKit

/// The OAuth token cache kept in the store (DESIGN §5, when no Redis is configured): one entry
/// per flow's cache key, its token set sealed under the key ring with the cache key as associated
/// data (an entry cannot be read under another key), and an expiry enforced on every read.
extension ConnectorStore {
    /// Stores (or replaces) the token set of a flow for `ttl`.
    public func putOAuthTokens(_ tokens: JSONValue, key: String, ttl: Duration, now: Date = Date()) async throws {
        let sealed = try keyRing.seal(Data(tokens.serialized()), context: Self.oauthContext(key))
        let expires = Timestamp.from(now) + ttl.components.seconds * 1_000_000
        try await database.write { db in
            try await db.delete(from: "oauth_cache").where("cache_key", .equal, key).run()
            try await db.insert(into: "oauth_cache").columns("cache_key", "sealed", "expires_at")
                .values(SQLBind(key), SQLBind(sealed), SQLBind(expires)).run()
        }
    }

    /// The token set of an unexpired entry, without removing it; `nil` when there is none, it
    /// expired, or it does not open under the key ring (a retired key: the user authorizes again).
    public func oauthTokens(key: String, now: Date = Date()) async throws -> JSONValue? {
        let row = try await database.read { db in
            try await db.select().columns("sealed", "expires_at").from("oauth_cache").where("cache_key", .equal, key).first()
        }
        guard let row, try row.decode(column: "expires_at", as: Int64.self) > Timestamp.from(now) else { return nil }
        guard let plaintext = try? keyRing.open(try row.decode(column: "sealed", as: Data.self), context: Self.oauthContext(key)) else {
            return nil
        }
        return try JSONValue.parse(plaintext)
    }

    /// Removes an entry (after the write that used it committed). - Returns: whether one existed.
    @discardableResult
    public func deleteOAuthTokens(key: String) async throws -> Bool {
        try await database.write { db in
            let found = try await db.select().column("cache_key").from("oauth_cache").where("cache_key", .equal, key).first() != nil
            try await db.delete(from: "oauth_cache").where("cache_key", .equal, key).run()
            return found
        }
    }

    /// Removes expired entries. - Returns: how many went.
    @discardableResult
    public func pruneOAuthTokens(now: Date = Date()) async throws -> Int {
        try await database.write { db in
            let cutoff = Timestamp.from(now)
            let count = try await db.raw("SELECT COUNT(*) AS n FROM oauth_cache WHERE expires_at <= \(bind: cutoff)").first()?
                .decode(column: "n", as: Int.self) ?? 0
            try await db.delete(from: "oauth_cache").where("expires_at", .lessThanOrEqual, cutoff).run()
            return count
        }
    }

    static func oauthContext(_ key: String) -> String { "oauth-cache|" + key }
}
