import ConnectorCore
import Foundation
import OAuthFlow
import SQLKit
import Testing

@testable import ConnectorStore

/// Issue 9 (store-backed OAuth cache): values sealed under the key ring with their key bound in,
/// read without removal, taken once, removed only while unchanged, expired entries never served
/// and pruned, on both backends.
@Suite struct OAuthCacheTests {
    static let key = OAuthCacheKey("oauth:acme|7|google-oauth2|6f1c1e3a-2b4d-4c5e-8f90-1a2b3c4d5e6f")!
    static let tokens = OAuthTokenSet(metadata: [
        "access_token": "ya29.cache-canary", "refresh_token": "1//refresh-canary", "expires_in": 3599,
    ])

    @Test(arguments: Backend.allCases)
    func entriesAreSealedReadWithoutRemovalAndExpire(_ backend: Backend) async throws {
        try await StoreHarness.withPopulatedStore(backend) { store, _ in
            let cache = OAuthTokenCache(storage: store, keyRing: store.keyRing)
            let now = Date()
            try await cache.put(.completed(Self.tokens), for: Self.key, ttl: .seconds(3600))
            // Read twice: a test reads without consuming.
            #expect(try await cache.entry(for: Self.key)?.entry == .completed(Self.tokens))
            #expect(try await cache.entry(for: Self.key)?.entry == .completed(Self.tokens))
            let sibling = OAuthCacheKey(organization: "acme", userID: 7, backend: .google)
            #expect(try await cache.entry(for: sibling) == nil)
            // Nothing of the tokens is stored in clear.
            let raw = try await store.database.read { db in
                try await db.select().column("sealed").from("oauth_cache").all().map { try $0.decode(column: "sealed", as: Data.self) }
            }
            #expect(raw.count == 1 && !String(decoding: raw[0], as: UTF8.self).contains("canary"))
            // Expiry is enforced on read, then the row is pruned.
            let sealed = try #require(try await store.fetchOAuthEntry(Self.key.description, now: now))
            #expect(try await store.fetchOAuthEntry(Self.key.description, now: now.addingTimeInterval(3599)) == sealed)
            #expect(try await store.fetchOAuthEntry(Self.key.description, now: now.addingTimeInterval(3601)) == nil)
            #expect(try await store.takeOAuthEntry(Self.key.description, now: now.addingTimeInterval(3601)) == nil)
            try await cache.put(.completed(Self.tokens), for: Self.key, ttl: .seconds(3600))
            #expect(try await store.pruneOAuthEntries(now: now.addingTimeInterval(10)) == 0)
            #expect(try await store.pruneOAuthEntries(now: now.addingTimeInterval(3700)) == 1)
            #expect(try await cache.entry(for: Self.key) == nil)
        }
    }

    @Test(arguments: Backend.allCases)
    func anEntryOpensOnlyUnderItsOwnKeyAndIsRemovedOnlyWhileUnchanged(_ backend: Backend) async throws {
        try await StoreHarness.withPopulatedStore(backend) { store, _ in
            let cache = OAuthTokenCache(storage: store, keyRing: store.keyRing)
            let other = OAuthCacheKey(organization: "acme", userID: 8, backend: .google)
            try await cache.put(.completed(Self.tokens), for: Self.key, ttl: .seconds(60))
            try await cache.put(.issued, for: other, ttl: .seconds(60))
            // A sealed value moved under another key does not open there.
            let moved = try #require(try await store.fetch(Self.key.description))
            try await store.store(other.description, value: moved, ttl: .seconds(60))
            #expect(try await cache.entry(for: other) == nil)
            // Removal only while the entry is the one read: a newer flow under the key stays.
            let read = try #require(try await cache.entry(for: Self.key))
            try await cache.put(.issued, for: Self.key, ttl: .seconds(60))
            #expect(try await cache.remove(Self.key, ifSealed: read.sealed) == false)
            let again = try #require(try await cache.entry(for: Self.key))
            #expect(again.entry == .issued)
            #expect(try await cache.remove(Self.key, ifSealed: again.sealed))
            #expect(try await cache.entry(for: Self.key) == nil)
        }
    }

    @Test(arguments: Backend.allCases)
    func aLoginStateIsTakenOnce(_ backend: Backend) async throws {
        try await StoreHarness.withPopulatedStore(backend) { store, _ in
            let cache = OAuthTokenCache(storage: store, keyRing: store.keyRing)
            let login = OAuthPendingLogin(cacheKey: Self.key, verifier: PKCE.generate().verifier, redirectURI: "http://127.0.0.1/cb")
            let state = OAuthRandom.token()
            try await cache.putLogin(login, state: state, ttl: .seconds(60))
            // Two callbacks with one state at once: exactly one gets the login.
            async let first = cache.takeLogin(state: state)
            async let second = cache.takeLogin(state: state)
            let taken = [try await first, try await second].compactMap { $0 }
            #expect(taken == [login])
            #expect(try await cache.takeLogin(state: state) == nil)
        }
    }
}

/// Refreshed OAuth tokens are written back only over the version they were read at.
@Suite struct RefreshWriteBackTests {
    @Test(arguments: Backend.allCases)
    func aStaleVersionLosesAndTheWinnersTokensStay(_ backend: Backend) async throws {
        try await StoreHarness.withPopulatedStore(backend) { store, world in
            let created = try await store.createConnector(
                NewConnector(
                    name: "drive", typeID: "gdrive|3ac4b966-9136-4261-944a-bdbfc51cd21c", mode: "FILE_SYSTEM",
                    metadata: ["connectorName": "drive", "access_token": "old", "refresh_token": "r1"]),
                organization: world.organization, by: world.alice.id)
            let read = try #require(try await store.connector(id: created.id, organization: world.organization))
            let winner = OAuthTokenSet(metadata: ["access_token": "winner", "refresh_token": "r2"])
            let loser = OAuthTokenSet(metadata: ["access_token": "loser"])
            #expect(try await store.storeRefreshedTokens(winner, connector: read.id, organization: world.organization, expectedVersion: read.version))
            #expect(
                try await store.storeRefreshedTokens(loser, connector: read.id, organization: world.organization, expectedVersion: read.version)
                    == false)
            let after = try #require(try await store.connector(id: created.id, organization: world.organization))
            #expect(after.metadata["access_token"] == "winner" && after.metadata["refresh_token"] == "r2")
            #expect(after.metadata["connectorName"] == "drive" && after.version == read.version + 1)
        }
    }
}
