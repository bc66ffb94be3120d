import ConnectorAPI
import ConnectorCore
import ConnectorStore
import Foundation
import Hummingbird
import HummingbirdTesting
import OAuthFlow
import ProbeEngine
import RedisClient
import TestSupport
import Testing

extension LiveServiceTests {
    /// Issue 9: the OAuth cache behaves the same in Redis (`REDIS_URL`) and in the store, and an
    /// unreachable Redis is a 503 with `Retry-After`, never a 408 or 500.
    @Suite struct OAuthCacheBackendTests {
        enum Backend: String, CaseIterable, Sendable {
            case store, redis, redisTLS
        }

        /// The cache on `backend`, over a fresh store's key ring.
        static func withCache(_ backend: Backend, _ body: @Sendable (OAuthTokenCache) async throws -> Void) async throws {
            try await TemporaryStore.with { temporary in
                switch backend {
                case .store:
                    try await body(OAuthTokenCache(storage: temporary.store, keyRing: temporary.store.keyRing))
                case .redis, .redisTLS:
                    let url = try LiveServices.value(backend == .redis ? "CE_REDIS_URL" : "CE_REDIS_TLS_URL")
                    let client = RedisClient(configuration: try RedisConfiguration(url: url, caFile: try LiveServices.value("CE_REDIS_CA_FILE")))
                    do {
                        try await body(OAuthTokenCache(storage: RedisOAuthStorage(client: client), keyRing: temporary.store.keyRing))
                    } catch {
                        await client.shutdown()
                        throw error
                    }
                    await client.shutdown()
                }
            }
        }

        @Test(arguments: Backend.allCases)
        func entriesLoginsAndRemovalBehaveAlike(_ backend: Backend) async throws {
            try await Self.withCache(backend) { cache in
                let key = OAuthCacheKey(organization: "acme", userID: 7, backend: .dropbox)
                let tokens = OAuthTokenSet(metadata: ["access_token": "sl.canary", "refresh_token": "r-canary", "expires_in": 14400])
                #expect(try await cache.entry(for: key) == nil)
                try await cache.put(.issued, for: key, ttl: .seconds(60))
                #expect(try await cache.entry(for: key)?.entry == .issued)
                try await cache.put(.completed(tokens), for: key, ttl: .seconds(60))
                let read = try #require(try await cache.entry(for: key))
                #expect(read.entry == .completed(tokens))
                #expect(try await cache.entry(for: key)?.entry == .completed(tokens))
                // Removed only while unchanged.
                try await cache.put(.completed(tokens), for: key, ttl: .seconds(60))
                #expect(try await cache.remove(key, ifSealed: read.sealed) == false)
                let again = try #require(try await cache.entry(for: key))
                #expect(try await cache.remove(key, ifSealed: again.sealed))
                #expect(try await cache.entry(for: key) == nil)
                // A login state is taken once, even by two callbacks at once.
                let state = OAuthRandom.token()
                let login = OAuthPendingLogin(cacheKey: key, verifier: PKCE.generate().verifier, redirectURI: "http://127.0.0.1/cb")
                try await cache.putLogin(login, state: state, ttl: .seconds(60))
                async let first = cache.takeLogin(state: state)
                async let second = cache.takeLogin(state: state)
                #expect([try await first, try await second].compactMap { $0 } == [login])
                // Expiry: a short TTL ends the entry (polled, bounded).
                try await cache.put(.issued, for: key, ttl: .milliseconds(300))
                let deadline = ContinuousClock.now + .seconds(10)
                var gone = false
                while !gone, ContinuousClock.now < deadline {
                    gone = try await cache.entry(for: key) == nil
                    if !gone { try await Task.sleep(for: .milliseconds(50)) }
                }
                #expect(gone)
            }
        }

        @Test func anUnreachableRedisIsA503WithRetryAfter() async throws {
            let engine = try LiveServices.engine()
            defer { engine.shutdown() }
            let closed = try LiveServices.value("CE_CLOSED_PORT")
            let client = RedisClient(configuration: try RedisConfiguration(url: "redis://127.0.0.1:\(closed)/0"))
            try await TemporaryStore.with { temporary in
                let configuration = APIConfiguration(
                    publicURL: "http://127.0.0.1:9",
                    oauth: OAuthConfiguration(
                        providers: [.google: .standard(.google, clientID: "id", clientSecret: "secret")],
                        storage: RedisOAuthStorage(client: client)))
                let app = Application(router: buildRouter(engine: engine, store: temporary.store, configuration: configuration))
                try await app.test(.router) { client in
                    let api = APIClient(client: client)
                    let token = temporary.adminToken
                    let cacheKey = try await api.call(.get, "/api/v1/oauth/cache-key/google-oauth2", token: token)
                    #expect(cacheKey.status == 503 && cacheKey.headers[.retryAfter] != nil)
                    let key = OAuthCacheKey(organization: "default", userID: temporary.admin.id, backend: .google).description
                    let body: JSONValue = [
                        "connector_id": "gdrive|3ac4b966-9136-4261-944a-bdbfc51cd21c", "connector_name": "drive",
                        "connector_metadata": ["connectorName": "drive"],
                    ]
                    let created = try await api.call(
                        .post, "/api/v1/unstract/default/connector/?" + PercentEncoding.form([("oauth-key", key)]), token: token, body: body)
                    #expect(created.status == 503 && created.headers[.retryAfter] != nil)
                    // The login popup lands on the status page with the reason, not an error body.
                    let login = try await api.call(
                        .get, "/api/v1/oauth/login/google-oauth2/?" + PercentEncoding.form([("oauth-key", key)]), token: nil)
                    #expect(login.status == 302)
                    #expect(login.headers[.location]?.contains("reason=cache_unavailable") == true)
                }
            }
            await client.shutdown()
        }
    }
}
