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

    func withApp(
        statusURL: String? = nil, _ body: @Sendable (any TestClientProtocol, HTTPFields) async throws -> Void
    ) async throws {
        let engine = try ProbeEngine.standard(configuration: EngineConfiguration(reactorThreads: 1, blockingThreads: 2))
        defer { engine.shutdown() }
        try await TemporaryStore.with { temporary in
            let configuration = APIConfiguration(
                publicURL: "https://engine.example.test", oauth: OAuthConfiguration(providers: [.google: Self.google], statusURL: statusURL))
            let app = Application(router: buildRouter(engine: engine, store: temporary.store, configuration: configuration))
            try await app.test(.router) { client in try await body(client, [.authorization: "Bearer \(temporary.adminToken)"]) }
        }
    }

    static func firstError(_ response: TestResponse) throws -> JSONValue? {
        guard case .array(let errors)? = try JSONValue.parse(Array(response.body.readableBytesView))["errors"] else { return nil }
        return errors.first
    }

    static func query(_ location: String?) throws -> [String: String] {
        let text = try #require(location)
        let components = try #require(URLComponents(string: text))
        return Dictionary((components.queryItems ?? []).map { ($0.name, $0.value ?? "") }) { $1 }
    }

    @Test func aBackendWithoutItsClientIsA500NamingTheSettings() async throws {
        try await withApp { client, auth in
            try await client.execute(uri: "/api/v1/oauth/cache-key/dropbox-oauth2", method: .get, headers: auth) { response in
                #expect(response.status == .internalServerError)
                let error = try #require(try Self.firstError(response))
                #expect(error["code"]?.stringValue == "key_not_configured")
                let detail = try #require(error["detail"]?.stringValue)
                #expect(detail.contains("DROPBOX_OAUTH2_KEY") && detail.contains("DROPBOX_OAUTH2_SECRET"))
            }
            try await client.execute(uri: "/api/v1/oauth/cache-key/google-oauth2/", method: .get, headers: auth) { response in
                #expect(response.status == .ok)
            }
        }
    }

    @Test func anUnknownBackendIsA400AndNoTokenIsA401() async throws {
        try await withApp { client, auth in
            try await client.execute(uri: "/api/v1/oauth/cache-key/github", method: .get, headers: auth) { response in
                #expect(response.status == .badRequest)
                let error = try Self.firstError(response)
                #expect(error?["attr"]?.stringValue == "backend")
            }
            try await client.execute(uri: "/api/v1/oauth/cache-key/google-oauth2", method: .get) { response in
                #expect(response.status == .unauthorized)
            }
        }
    }

    /// A well-formed key the cache does not hold (expired, or never issued) cannot start a flow.
    @Test func aKeyNotInTheCacheEndsOnTheServersStatusPageNotAtTheProvider() async throws {
        try await withApp { client, _ in
            let key = "oauth:default|1|google-oauth2|\(UUID().uuidString.lowercased())"
            let uri = "/api/v1/oauth/login/google-oauth2/?" + PercentEncoding.form([("oauth-key", key)])
            try await client.execute(uri: uri, method: .get) { response in
                #expect(response.status == .found)
                let location = try #require(response.headers[.location])
                #expect(location.hasPrefix("https://engine.example.test/api/v1/oauth/status/?"))
                #expect(try Self.query(location) == ["status": "error", "reason": "expired_key"])
                #expect(response.headers[.cacheControl] == "no-store")
            }
        }
    }

    @Test func aConfiguredStatusURLReceivesTheOutcome() async throws {
        try await withApp(statusURL: "https://app.example.test/oauth-status/?from=engine") { client, auth in
            try await client.execute(uri: "/api/v1/oauth/login/google-oauth2/?oauth-key=nonsense", method: .get) { response in
                #expect(response.status == .found)
                let location = try #require(response.headers[.location])
                #expect(location.hasPrefix("https://app.example.test/oauth-status/?from=engine&"))
                #expect(try Self.query(location) == ["from": "engine", "status": "error", "reason": "invalid_key"])
            }
            // A callback whose state this server never issued.
            try await client.execute(uri: "/api/v1/oauth/complete/google-oauth2/?code=c&state=s", method: .get) { response in
                let query = try Self.query(response.headers[.location])
                #expect(query == ["from": "engine", "status": "error", "reason": "invalid_state"])
            }
        }
    }

    @Test func theStatusPageExplainsAReasonAndDropsAnythingElse() async throws {
        try await withApp { client, _ in
            try await client.execute(uri: "/api/v1/oauth/status/?status=error&reason=exchange_failed:invalid_client", method: .get) { response in
                let html = String(buffer: response.body)
                #expect(html.contains("data-reason=\"exchange_failed:invalid_client\""))
                #expect(html.contains("An administrator must check its client id and secret."))
                #expect(response.headers[HTTPField.Name("Content-Security-Policy")!]?.contains("script-src 'sha256-") == true)
            }
            let injected = PercentEncoding.form([("status", "error"), ("reason", "<script>alert(1)</script>")])
            try await client.execute(uri: "/api/v1/oauth/status/?" + injected, method: .get) { response in
                let html = String(buffer: response.body)
                #expect(html.contains("data-status=\"error\" data-reason=\"\""))
                #expect(!html.contains("alert(1)"))
            }
        }
    }
}
