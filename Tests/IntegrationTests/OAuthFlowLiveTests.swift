import ConnectorAPI
import ConnectorCore
import ConnectorStore
import Foundation
import Hummingbird
import HummingbirdTesting
import OAuthFlow
import ProbeEngine
import Probes
import TestSupport
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The consent screen of the fake provider, driven as a browser would (without following the
/// redirect back, which the test hands to the API itself).
struct FakeConsent {
    /// An HTTP exchange that does not follow redirects.
    final class NoRedirects: NSObject, URLSessionTaskDelegate, @unchecked Sendable {
        func urlSession(
            _ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
            newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void
        ) {
            completionHandler(nil)
        }
    }

    static func fetch(_ request: URLRequest) async throws -> (status: Int, location: String?, body: String) {
        let session = URLSession(configuration: .ephemeral, delegate: NoRedirects(), delegateQueue: nil)
        defer { session.finishTasksAndInvalidate() }
        return try await withCheckedThrowingContinuation { continuation in
            session.dataTask(with: request) { data, response, error in
                guard let response = response as? HTTPURLResponse else {
                    return continuation.resume(throwing: error ?? URLError(.badServerResponse))
                }
                continuation.resume(
                    returning: (response.statusCode, response.value(forHTTPHeaderField: "Location"), String(decoding: data ?? Data(), as: UTF8.self)))
            }.resume()
        }
    }

    /// Opens the consent URL and presses Allow or Deny. - Returns: where the provider redirects.
    static func decide(_ consentURL: String, allow: Bool) async throws -> URLComponents {
        let page = try await fetch(URLRequest(url: try #require(URL(string: consentURL))))
        #expect(page.status == 200 && page.body.contains("id=\"allow\""))
        let requestID = try #require(page.body.firstMatch(of: /name="request_id" value="([^"]+)"/)?.1)
        let action = try #require(page.body.firstMatch(of: /<form method="post" action="([^"]+)"/)?.1)
        let actionURL = try #require(URL(string: String(action).replacingOccurrences(of: "&amp;", with: "&"), relativeTo: URL(string: consentURL)))
        var post = URLRequest(url: actionURL)
        post.httpMethod = "POST"
        post.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
        post.httpBody = Data(PercentEncoding.form([("request_id", String(requestID)), ("decision", allow ? "allow" : "deny")]).utf8)
        let answer = try await fetch(post)
        #expect(answer.status == 302)
        let location = try #require(answer.location)
        return try #require(URLComponents(string: location))
    }

    static func stats(_ base: String) async throws -> JSONValue {
        let answer = try await fetch(URLRequest(url: try #require(URL(string: base + "/_stats"))))
        return try JSONValue.parse(Array(answer.body.utf8))
    }

    static func post(_ url: String) async throws {
        var request = URLRequest(url: try #require(URL(string: url)))
        request.httpMethod = "POST"
        let answer = try await fetch(request)
        #expect(answer.status == 200)
    }
}

extension LiveServiceTests {
    /// Issue 9: the OAuth flow end to end against the fake providers (scripts/fake_oauth.py):
    /// key, consent, callback, the key used by test, create and update, refresh written back.
    @Suite struct OAuthFlowLiveTests {
        static let drive = "gdrive|3ac4b966-9136-4261-944a-bdbfc51cd21c"
        static let dropbox = "dropbox|db6bf4a6-f892-4d25-8652-2bf251946134"
        /// Never contacted: the test carries the provider's redirect to the router itself.
        static let publicURL = "http://127.0.0.1:9"

        static func providers() throws -> [OAuthBackend: OAuthProvider] {
            [
                .google: OAuthProvider(
                    backend: .google, authorizeURL: try LiveServices.value("CE_GOOGLE_AUTHORIZE_URL"),
                    tokenURL: try LiveServices.value("CE_GOOGLE_TOKEN_URL"), clientID: try LiveServices.value("CE_GOOGLE_OAUTH_CLIENT_ID"),
                    clientSecret: try LiveServices.value("CE_GOOGLE_OAUTH_CLIENT_SECRET")),
                .dropbox: OAuthProvider(
                    backend: .dropbox, authorizeURL: try LiveServices.value("CE_DROPBOX_AUTHORIZE_URL"),
                    tokenURL: try LiveServices.value("CE_DROPBOX_TOKEN_URL"), clientID: try LiveServices.value("CE_DROPBOX_APP_KEY"),
                    clientSecret: try LiveServices.value("CE_DROPBOX_APP_SECRET")),
            ]
        }

        static func with(_ body: @escaping @Sendable (APIClient, TemporaryStore) async throws -> Void) async throws {
            let engine = try LiveServices.engine()
            defer { engine.shutdown() }
            try await TemporaryStore.with { temporary in
                let configuration = APIConfiguration(publicURL: publicURL, oauth: OAuthConfiguration(providers: try providers()))
                let app = Application(router: buildRouter(engine: engine, store: temporary.store, configuration: configuration))
                try await app.test(.router) { client in try await body(APIClient(client: client), temporary) }
            }
        }

        static func query(_ components: URLComponents, _ name: String) -> String? {
            components.queryItems?.first { $0.name == name }?.value
        }

        @Test func driveSignInCreatesAWorkingConnectorAndTheKeyIsUsedOnce() async throws {
            try await Self.with { api, temporary in
                let token = temporary.adminToken
                let base = "/api/v1/unstract/default"
                let (key, status) = try await api.signIn(.google, token: token, allow: true)
                #expect(status.path == "/api/v1/oauth/status/" && Self.query(status, "status") == "success")
                // The status page reports success to its opener.
                let page = try await api.call(.get, status.path + "?" + (status.percentEncodedQuery ?? ""), token: nil)
                #expect(page.status == 200 && page.headers[.contentType]?.hasPrefix("text/html") == true)
                // A test reads the tokens without using them up; form fields are kept.
                let form: JSONValue = ["connectorName": "drive", "path": "root/"]
                for _ in 0..<2 {
                    let tested = try await api.call(
                        .post, base + "/test_connectors/?" + PercentEncoding.form([("oauth-key", key)]), token: token,
                        body: ["connector_id": .string(Self.drive), "connector_metadata": form])
                    #expect(tested.status == 200 && tested.json["is_valid"] == true)
                }
                // Create with the key: tokens stored encrypted and masked, the entry gone after the commit.
                let created = try await api.call(
                    .post, base + "/connector/?" + PercentEncoding.form([("oauth-key", key)]), token: token,
                    body: ["connector_id": .string(Self.drive), "connector_name": "drive", "connector_metadata": form])
                #expect(created.status == 201)
                #expect(created.json["connector_metadata"]?["access_token"] == "********")
                #expect(created.json["connector_metadata"]?["refresh_token"] == "********")
                #expect(created.json["connector_metadata"]?["path"] == "root/")
                let id = try #require(created.json["id"]?.stringValue)
                let uuid = try #require(UUID(uuidString: id))
                let stored = try #require(try await temporary.store.connector(id: uuid, organization: "default"))
                #expect(stored.metadata["access_token"]?.stringValue?.isEmpty == false)
                #expect(stored.metadata["refresh_token"]?.stringValue?.isEmpty == false)
                // When the refresh token was granted is kept, for providers that limit its age.
                let issued = try #require(OAuthTokenSet(metadata: stored.metadata).refreshTokenIssuedAt)
                #expect(abs(issued.timeIntervalSinceNow) < 300)
                #expect(try await temporary.store.fetch(key) == nil)
                let verdict = try await api.call(.post, base + "/connector/\(id)/test/", token: token)
                #expect(verdict.status == 200 && verdict.json["is_valid"] == true)
                // The key is spent: a second create times out (408), as does an unknown key.
                let again = try await api.call(
                    .post, base + "/connector/?" + PercentEncoding.form([("oauth-key", key)]), token: token,
                    body: ["connector_id": .string(Self.drive), "connector_name": "drive-2", "connector_metadata": form])
                #expect(again.status == 408 && Self.errorCode(again.json) == "oauth_timeout")
                // The login route refuses a spent key without going to the provider.
                let relogin = try await api.call(.get, "/api/v1/oauth/login/google-oauth2/?" + PercentEncoding.form([("oauth-key", key)]), token: nil)
                let reloginStatus = try Self.location(relogin)
                #expect(reloginStatus.path == "/api/v1/oauth/status/" && Self.query(reloginStatus, "reason") == "expired_key")
                // Nothing of the tokens reached the audit log.
                let audit = try await temporary.store.auditLog(organization: "default")
                let accessToken = try #require(stored.metadata["access_token"]?.stringValue)
                #expect(!audit.contains { ($0.detail ?? "").contains(accessToken) })
            }
        }

        @Test func deniedConsentCachesNothingAndTheKeyTimesOut() async throws {
            try await Self.with { api, temporary in
                let (key, status) = try await api.signIn(.dropbox, token: temporary.adminToken, allow: false)
                #expect(Self.query(status, "status") == "error" && Self.query(status, "reason") == "access_denied")
                let created = try await api.call(
                    .post, "/api/v1/unstract/default/connector/?" + PercentEncoding.form([("oauth-key", key)]), token: temporary.adminToken,
                    body: ["connector_id": .string(Self.dropbox), "connector_name": "dbx", "connector_metadata": ["connectorName": "dbx"]])
                #expect(created.status == 408 && Self.errorCode(created.json) == "oauth_timeout")
                // A bad connector_id is a 400 whatever the key (Unstract answers 408).
                let badType = try await api.call(
                    .post, "/api/v1/unstract/default/connector/?" + PercentEncoding.form([("oauth-key", key)]), token: temporary.adminToken,
                    body: ["connector_id": "nope|0", "connector_name": "dbx", "connector_metadata": [:]])
                #expect(badType.status == 400)
            }
        }

        @Test func aStateWorksOnceAndAnotherFlowsCodeFailsPKCE() async throws {
            try await Self.with { api, temporary in
                let token = temporary.adminToken
                func login() async throws -> URLComponents {
                    let issued = try await api.call(.get, "/api/v1/oauth/cache-key/google-oauth2", token: token)
                    let key = try #require(issued.json["cache_key"]?.stringValue)
                    let login = try await api.call(
                        .get, "/api/v1/oauth/login/google-oauth2?" + PercentEncoding.form([("oauth-key", key)]), token: nil)
                    return try await FakeConsent.decide(try #require(login.headers[.location]), allow: true)
                }
                let first = try await login()
                let second = try await login()
                // Flow 2's code with flow 1's state: the verifier does not match its challenge.
                let crossed = try await api.call(
                    .get,
                    "/api/v1/oauth/complete/google-oauth2/?"
                        + PercentEncoding.form([("code", Self.query(second, "code")!), ("state", Self.query(first, "state")!)]), token: nil)
                let crossedStatus = try Self.location(crossed)
                #expect(Self.query(crossedStatus, "reason") == "exchange_failed:invalid_grant")
                // Flow 1's state was spent by that attempt: its own code is refused too.
                let replay = try await api.call(.get, first.path + "?" + (first.percentEncodedQuery ?? ""), token: nil)
                let replayStatus = try Self.location(replay)
                #expect(Self.query(replayStatus, "reason") == "invalid_state")
                // A state never issued.
                let forged = try await api.call(
                    .get, "/api/v1/oauth/complete/google-oauth2/?" + PercentEncoding.form([("code", "x"), ("state", OAuthRandom.token())]), token: nil
                )
                #expect(Self.query(try Self.location(forged), "reason") == "invalid_state")
            }
        }

        @Test func keysAreBoundToTheirUserAndOrganization() async throws {
            try await Self.with { api, temporary in
                let (_, bobToken) = try await temporary.member("bob")
                let (key, _) = try await api.signIn(.google, token: temporary.adminToken, allow: true)
                let stolen = try await api.call(
                    .post, "/api/v1/unstract/default/test_connectors/", token: bobToken,
                    body: ["connector_id": .string(Self.drive), "connector_metadata": ["connectorName": "x", "oauth-key": .string(key)]])
                #expect(stolen.status == 403)
                // The entry is left alone: its owner can still use it.
                #expect(try await temporary.store.fetch(key) != nil)
                // Unknown backend 400; a backend without a client 500 naming the settings.
                let unknown = try await api.call(.get, "/api/v1/oauth/cache-key/github", token: temporary.adminToken)
                #expect(unknown.status == 400)
                let anonymous = try await api.call(.get, "/api/v1/oauth/cache-key/google-oauth2", token: nil)
                #expect(anonymous.status == 401)
            }
        }

        @Test func aRefreshedTokenIsWrittenBackAndUsedNextTime() async throws {
            try await Self.with { api, temporary in
                let token = temporary.adminToken
                let base = "/api/v1/unstract/default"
                let (key, _) = try await api.signIn(.google, token: token, allow: true)
                let created = try await api.call(
                    .post, base + "/connector/?" + PercentEncoding.form([("oauth-key", key)]), token: token,
                    body: ["connector_id": .string(Self.drive), "connector_name": "drive", "connector_metadata": ["connectorName": "drive"]])
                let idText = try #require(created.json["id"]?.stringValue)
                let id = try #require(UUID(uuidString: idText))
                let before = try #require(try await temporary.store.connector(id: id, organization: "default"))
                let google = try LiveServices.value("CE_GOOGLE_API_URL")
                try await FakeConsent.post(google + "/_tokens/expire?principal=" + (try LiveServices.value("CE_GOOGLE_OAUTH_FLOW_USER")))
                let refreshesBefore = try await FakeConsent.stats(google)["oauth_flow"]?["token"]?["refresh_token"]?["requests"]
                // Two tests at once: one refresh, written back; the other uses the new token.
                async let first = api.call(.post, base + "/connector/\(id)/test/", token: token)
                async let second = api.call(.post, base + "/connector/\(id)/test/", token: token)
                let verdicts = [try await first, try await second]
                #expect(verdicts.allSatisfy { $0.status == 200 })
                let after = try #require(try await temporary.store.connector(id: id, organization: "default"))
                #expect(after.metadata["access_token"] != before.metadata["access_token"])
                #expect(after.metadata["refresh_token"] == before.metadata["refresh_token"])
                #expect(after.version == before.version + 1)
                let refreshesAfter = try await FakeConsent.stats(google)["oauth_flow"]?["token"]?["refresh_token"]?["requests"]
                #expect(Self.count(refreshesAfter) == Self.count(refreshesBefore) + 1)
                // Next time the stored token works without a refresh.
                let third = try await api.call(.post, base + "/connector/\(id)/test/", token: token)
                #expect(third.status == 200)
                #expect(
                    Self.count(try await FakeConsent.stats(google)["oauth_flow"]?["token"]?["refresh_token"]?["requests"])
                        == Self.count(refreshesAfter))
            }
        }

        @Test func twoReplicasRefreshingAtOnceLoseNoTokenAndARevokedRefreshTokenIsAuthFailed() async throws {
            let engine = try LiveServices.engine()
            defer { engine.shutdown() }
            try await TemporaryStore.with { temporary in
                let configuration = APIConfiguration(publicURL: Self.publicURL, oauth: OAuthConfiguration(providers: try Self.providers()))
                // Two replicas: two routers (each with its own per-connector section) over one store.
                let replicas = [
                    Application(router: buildRouter(engine: engine, store: temporary.store, configuration: configuration)),
                    Application(router: buildRouter(engine: engine, store: temporary.store, configuration: configuration)),
                ]
                let token = temporary.adminToken
                let base = "/api/v1/unstract/default"
                let google = try LiveServices.value("CE_GOOGLE_API_URL")
                let principal = try LiveServices.value("CE_GOOGLE_OAUTH_FLOW_USER")
                let id: UUID = try await replicas[0].test(.router) { client in
                    let api = APIClient(client: client)
                    let (key, _) = try await api.signIn(.google, token: token, allow: true)
                    let created = try await api.call(
                        .post, base + "/connector/?" + PercentEncoding.form([("oauth-key", key)]), token: token,
                        body: ["connector_id": .string(Self.drive), "connector_name": "drive", "connector_metadata": ["connectorName": "drive"]])
                    let text = try #require(created.json["id"]?.stringValue)
                    return try #require(UUID(uuidString: text))
                }
                let before = try #require(try await temporary.store.connector(id: id, organization: "default"))
                try await FakeConsent.post(google + "/_tokens/expire?principal=" + principal)
                let requestsBefore = Self.count(try await FakeConsent.stats(google)["oauth_flow"]?["token"]?["refresh_token"]?["requests"])
                let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                    for replica in replicas {
                        group.addTask {
                            try await replica.test(.router) { client in
                                try await APIClient(client: client).call(.post, base + "/connector/\(id)/test/", token: token).status
                            }
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                #expect(statuses == [200, 200])
                let requestsAfter = Self.count(try await FakeConsent.stats(google)["oauth_flow"]?["token"]?["refresh_token"]?["requests"])
                let after = try #require(try await temporary.store.connector(id: id, organization: "default"))
                // Each replica refreshed (two token requests at most); exactly one token set was
                // written, and it works.
                #expect((1...2).contains(requestsAfter - requestsBefore))
                #expect(after.version == before.version + 1 && after.metadata["access_token"] != before.metadata["access_token"])
                let refreshes = try await temporary.store.auditLog(organization: "default").filter { $0.action == .refresh }
                #expect(refreshes.count == 1)
                try await replicas[1].test(.router) { client in
                    let verdict = try await APIClient(client: client).call(.post, base + "/connector/\(id)/test/", token: token)
                    #expect(verdict.status == 200)
                    // Revoke the grant at the provider: the next refresh is refused → 403 naming the refresh token.
                    var revoke = URLRequest(url: try #require(URL(string: try LiveServices.value("CE_GOOGLE_REVOKE_URL"))))
                    revoke.httpMethod = "POST"
                    revoke.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
                    let refreshToken = try #require(after.metadata["refresh_token"]?.stringValue)
                    revoke.httpBody = Data(PercentEncoding.form([("token", refreshToken)]).utf8)
                    #expect(try await FakeConsent.fetch(revoke).status == 200)
                    let refused = try await APIClient(client: client).call(.post, base + "/connector/\(id)/test/", token: token)
                    #expect(refused.status == 403 && refused.json["probe"]?["code"] == "auth_failed")
                    #expect(refused.json["probe"]?["attr"] == "refresh_token")
                }
            }
        }

        @Test func aRotatedDropboxRefreshTokenIsStoredAndWorksNextTime() async throws {
            try await Self.with { api, temporary in
                let token = temporary.adminToken
                let base = "/api/v1/unstract/default"
                let dropbox = try LiveServices.value("CE_DROPBOX_URL")
                let (key, _) = try await api.signIn(.dropbox, token: token, allow: true)
                let created = try await api.call(
                    .post, base + "/connector/?test=true&" + PercentEncoding.form([("oauth-key", key)]), token: token,
                    body: ["connector_id": .string(Self.dropbox), "connector_name": "dbx", "connector_metadata": ["connectorName": "dbx"]])
                #expect(created.status == 201)
                let idText = try #require(created.json["id"]?.stringValue)
                let id = try #require(UUID(uuidString: idText))
                let first = try #require(try await temporary.store.connector(id: id, organization: "default"))
                let firstRefresh = try #require(first.metadata["refresh_token"]?.stringValue)
                try await FakeConsent.post(
                    dropbox + "/_oauth/rotate?" + PercentEncoding.form([("enabled", "true"), ("refresh_token", firstRefresh)]))
                for round in 1...2 {
                    try await FakeConsent.post(dropbox + "/_tokens/expire")
                    let verdict = try await api.call(.post, base + "/connector/\(id)/test/", token: token)
                    #expect(verdict.status == 200, "round \(round)")
                }
                // Each refresh rotated the refresh token; the store kept the newest, which still works.
                let last = try #require(try await temporary.store.connector(id: id, organization: "default"))
                #expect(last.metadata["refresh_token"]?.stringValue != firstRefresh)
                #expect(last.version == first.version + 2)
            }
        }

        static func errorCode(_ json: JSONValue?) -> String? {
            guard case .array(let errors)? = json?["errors"] else { return nil }
            return errors.first?["code"]?.stringValue
        }

        /// Where a 302 points.
        static func location(_ response: APIClient.Answer) throws -> URLComponents {
            let text = try #require(response.headers[.location])
            return try #require(URLComponents(string: text))
        }

        static func count(_ value: JSONValue?) -> Int {
            switch value {
            case .number(let number)?: Int(number)
            case .object(let members)?: members.values.reduce(0) { $0 + count($1) }
            default: 0
            }
        }
    }
}

extension APIClient {
    /// Cache key → login → consent (Allow or Deny) → callback. - Returns: the key and where the flow ended.
    func signIn(_ backend: OAuthBackend, token: String, allow: Bool) async throws -> (key: String, status: URLComponents) {
        let issued = try await call(.get, "/api/v1/oauth/cache-key/\(backend.rawValue)", token: token)
        #expect(issued.status == 200)
        let key = try #require(issued.json["cache_key"]?.stringValue)
        let login = try await call(.get, "/api/v1/oauth/login/\(backend.rawValue)/?" + PercentEncoding.form([("oauth-key", key)]), token: nil)
        #expect(login.status == 302)
        let consent = try #require(login.headers[.location])
        let back = try await FakeConsent.decide(consent, allow: allow)
        #expect(back.path == "/api/v1/oauth/complete/\(backend.rawValue)/")
        let completed = try await call(.get, back.path + "?" + (back.percentEncodedQuery ?? ""), token: nil)
        #expect(completed.status == 302)
        return (key, try LiveServiceTests.OAuthFlowLiveTests.location(completed))
    }
}
