import ConnectorCore
import Foundation
import SQLKit
import Testing

@testable import ConnectorStore

/// Issue 9 (store-backed token cache): sealed under the key ring with the cache key bound in,
/// read without removal, expired entries never served and pruned, on both backends.
@Suite struct OAuthCacheTests {
    static let key = "oauth:acme|7|google-oauth2|6f1c1e3a-2b4d-4c5e-8f90-1a2b3c4d5e6f"
    static let tokens: JSONValue = [
        "access_token": "ya29.cache-canary", "refresh_token": "1//refresh-canary", "expires_in": 3599,
    ]

    @Test(arguments: Backend.allCases)
    func entriesAreSealedReadWithoutRemovalAndExpire(_ backend: Backend) async throws {
        try await StoreHarness.withPopulatedStore(backend) { store, _ in
            let now = Date()
            try await store.putOAuthTokens(Self.tokens, key: Self.key, ttl: .seconds(3600), now: now)
            // Read twice: a test reads without consuming.
            #expect(try await store.oauthTokens(key: Self.key, now: now) == Self.tokens)
            #expect(
                try await store.oauthTokens(key: Self.key, now: now.addingTimeInterval(3599)) == Self.tokens
            )
            #expect(try await store.oauthTokens(key: Self.key + "x", now: now) == nil)
            // Nothing of the tokens is stored in clear.
            let raw = try await store.database.read { db in
                try await db.select().column("sealed").from("oauth_cache").all().map {
                    try $0.decode(column: "sealed", as: Data.self)
                }
            }
            #expect(raw.count == 1 && !String(decoding: raw[0], as: UTF8.self).contains("canary"))
            // Expired: never served, then pruned.
            #expect(try await store.oauthTokens(key: Self.key, now: now.addingTimeInterval(3601)) == nil)
            #expect(try await store.pruneOAuthTokens(now: now.addingTimeInterval(10)) == 0)
            #expect(try await store.pruneOAuthTokens(now: now.addingTimeInterval(3601)) == 1)
            #expect(try await store.oauthTokens(key: Self.key, now: now) == nil)
        }
    }

    @Test(arguments: Backend.allCases)
    func anEntryOpensOnlyUnderItsOwnKeyAndIsDeletedOnce(_ backend: Backend) async throws {
        try await StoreHarness.withPopulatedStore(backend) { store, _ in
            let other = "oauth:acme|8|google-oauth2|0e1c1e3a-2b4d-4c5e-8f90-1a2b3c4d5e6f"
            try await store.putOAuthTokens(Self.tokens, key: Self.key, ttl: .seconds(60))
            try await store.putOAuthTokens(["access_token": "other"], key: other, ttl: .seconds(60))
            // A sealed value moved under another key does not open there.
            try await store.database.write { db in
                let sealed = try await db.select().column("sealed").from("oauth_cache").where(
                    "cache_key", .equal, Self.key
                ).first()!
                .decode(column: "sealed", as: Data.self)
                try await db.update("oauth_cache").set("sealed", to: sealed).where(
                    "cache_key", .equal, other
                ).run()
            }
            #expect(try await store.oauthTokens(key: other) == nil)
            #expect(try await store.deleteOAuthTokens(key: Self.key))
            #expect(try await store.deleteOAuthTokens(key: Self.key) == false)
            #expect(try await store.oauthTokens(key: Self.key) == nil)
        }
    }
}
