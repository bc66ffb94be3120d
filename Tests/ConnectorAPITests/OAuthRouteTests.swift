import ConnectorAPI
import ConnectorCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import OAuthFlow
import ProbeEngine
import Probes
import TestSupport
import Testing

/// The OAuth routes' answers that need no provider: a backend without a client, an unknown
/// backend or key, where the popup ends (the server's page or `--oauth-status-url`), and what
/// the server's status page says.
@Suite struct OAuthRouteTests {
    /// Only Google is configured; its endpoints are never contacted here.
    static let google = OAuthProvider(
        backend: .google, authorizeURL: "http://127.0.0.1:9/o/oauth2/v2/auth", tokenURL: "http://127.0.0.1:9/token",
        clientID: "client.apps.googleusercontent.com", clientSecret: UUID().uuidString)

    /// Runs `body` against a server on a fresh store, with the client and the admin's token.
    func withApp(statusURL: String? = nil, _ body: @Sendable (APIClient, String) async throws -> Void) async throws {
        let engine = try ProbeEngine.standard(configuration: EngineConfiguration(reactorThreads: 1, blockingThreads: 2))
        defer { engine.shutdown() }
        try await TemporaryStore.with { temporary in
            let configuration = APIConfiguration(
                publicURL: "https://engine.example.test", oauth: OAuthConfiguration(providers: [.google: Self.google], statusURL: statusURL))
            let app = Application(router: buildRouter(engine: engine, store: temporary.store, configuration: configuration))
            try await app.test(.router) { client in try await body(APIClient(client: client), temporary.adminToken) }
        }
    }

    static func query(_ location: String?) throws -> [String: String] {
        let text = try #require(location)
        let components = try #require(URLComponents(string: text))
        return Dictionary((components.queryItems ?? []).map { ($0.name, $0.value ?? "") }) { $1 }
    }

    @Test func aBackendWithoutItsClientIsA500NamingTheSettings() async throws {
        try await withApp { api, token in
            let dropbox = try await api.call(.get, "/api/v1/oauth/cache-key/dropbox-oauth2", token: token)
            #expect(dropbox.status == 500)
            let error = try #require(dropbox.firstError)
            #expect(error["code"]?.stringValue == "key_not_configured")
            let detail = try #require(error["detail"]?.stringValue)
            #expect(detail.contains("DROPBOX_OAUTH2_KEY") && detail.contains("DROPBOX_OAUTH2_SECRET"))
            #expect(try await api.call(.get, "/api/v1/oauth/cache-key/google-oauth2/", token: token).status == 200)
        }
    }

    @Test func anUnknownBackendIsA400AndNoTokenIsA401() async throws {
        try await withApp { api, token in
            let github = try await api.call(.get, "/api/v1/oauth/cache-key/github", token: token)
            #expect(github.status == 400 && github.firstError?["attr"]?.stringValue == "backend")
            #expect(try await api.call(.get, "/api/v1/oauth/cache-key/google-oauth2", token: nil).status == 401)
        }
    }

    /// A well-formed key the cache does not hold (expired, or never issued) cannot start a flow.
    @Test func aKeyNotInTheCacheEndsOnTheServersStatusPageNotAtTheProvider() async throws {
        try await withApp { api, _ in
            let key = "oauth:default|1|google-oauth2|\(UUID().uuidString.lowercased())"
            let login = try await api.call(.get, "/api/v1/oauth/login/google-oauth2/?" + PercentEncoding.form([("oauth-key", key)]), token: nil)
            #expect(login.status == 302)
            let location = try #require(login.headers[.location])
            #expect(location.hasPrefix("https://engine.example.test/api/v1/oauth/status/?"))
            #expect(try Self.query(location) == ["status": "error", "reason": "expired_key"])
            #expect(login.headers[.cacheControl] == "no-store")
        }
    }

    @Test func aConfiguredStatusURLReceivesTheOutcome() async throws {
        try await withApp(statusURL: "https://app.example.test/oauth-status/?from=engine") { api, _ in
            let login = try await api.call(.get, "/api/v1/oauth/login/google-oauth2/?oauth-key=nonsense", token: nil)
            #expect(login.status == 302)
            let location = try #require(login.headers[.location])
            #expect(location.hasPrefix("https://app.example.test/oauth-status/?from=engine&"))
            #expect(try Self.query(location) == ["from": "engine", "status": "error", "reason": "invalid_key"])
            // A callback whose state this server never issued.
            let callback = try await api.call(.get, "/api/v1/oauth/complete/google-oauth2/?code=c&state=s", token: nil)
            #expect(try Self.query(callback.headers[.location]) == ["from": "engine", "status": "error", "reason": "invalid_state"])
        }
    }

    @Test func theStatusPageExplainsAReasonAndDropsAnythingElse() async throws {
        try await withApp { api, _ in
            let page = try await api.call(.get, "/api/v1/oauth/status/?status=error&reason=exchange_failed:invalid_client", token: nil)
            #expect(page.text.contains("data-reason=\"exchange_failed:invalid_client\""))
            #expect(page.text.contains("An administrator must check its client id and secret."))
            #expect(page.headers[HTTPField.Name("Content-Security-Policy")!]?.contains("script-src 'sha256-") == true)
            let injected = PercentEncoding.form([("status", "error"), ("reason", "<script>alert(1)</script>")])
            let cleaned = try await api.call(.get, "/api/v1/oauth/status/?" + injected, token: nil)
            #expect(cleaned.text.contains("data-status=\"error\" data-reason=\"\""))
            #expect(!cleaned.text.contains("alert(1)"))
        }
    }
}
