import ConnectorCore
import CryptoExtras
import CurlDriver
import Foundation
import ProbeEngine
import Testing

@testable import Probes

/// Every decision of the HTTP probes, fed answers without a socket: the calls they make, in what
/// order, and the verdicts (issue 11: cloud probes as machines).
@Suite struct HTTPProbeMachineTests {
    static func answer(_ status: Int, _ body: String = "", headers: [(name: String, value: String)] = []) -> HTTPResult {
        HTTPResult(curlCode: 0, status: status, headers: headers, body: Array(body.utf8))
    }

    /// The call a step sends, or nil.
    static func sent(_ step: HTTPStep) -> HTTPCall? {
        if case .send(let call) = step { return call }
        return nil
    }

    static func finished(_ step: HTTPStep) -> ProbeOutcome? {
        if case .finish(let outcome) = step { return outcome }
        return nil
    }

    static func header(_ call: HTTPCall?, _ name: String) -> String? {
        call?.headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    static let rsaKey = try! _RSA.Signing.PrivateKey(keySize: .bits2048).pkcs8PEMRepresentation

    // MARK: S3

    static func s3(bucket: String? = "ce-probe") throws -> S3ProbeMachine {
        var metadata: [String: JSONValue] = [
            "endpoint_url": "http://127.0.0.1:9000", "region_name": "us-east-1", "key": "AK", "secret": "S",
        ]
        if let bucket { metadata["bucket"] = .string(bucket) }
        return S3ProbeMachine(settings: try S3Settings(metadata: .object(metadata)), caFile: nil, now: { Date(timeIntervalSince1970: 1_440_938_160) })
    }

    @Test func s3ListsTheBucketAndPassesOnA200() throws {
        var machine = try Self.s3()
        let call = try #require(Self.sent(machine.start()))
        #expect(call.method == "GET" && call.url == "http://127.0.0.1:9000/ce-probe?list-type=2&max-keys=1" && call.stage == .request)
        #expect(Self.header(call, "Authorization")?.contains("/us-east-1/s3/aws4_request") == true)
        #expect(Self.finished(machine.received(Self.answer(200, "<ListBucketResult/>"))) == .ok)
    }

    @Test func s3RetriesOnceSignedForTheRegionTheAnswerNames() throws {
        var machine = try Self.s3()
        _ = machine.start()
        let moved = Self.answer(301, "<Error><Code>PermanentRedirect</Code></Error>", headers: [("x-amz-bucket-region", "eu-west-1")])
        let retry = try #require(Self.sent(machine.received(moved)))
        #expect(Self.header(retry, "Authorization")?.contains("/eu-west-1/s3/aws4_request") == true)
        // A second move is not followed: the region cannot be settled.
        let again = Self.answer(301, "<Error><Code>PermanentRedirect</Code></Error>", headers: [("x-amz-bucket-region", "ap-south-1")])
        let outcome = try #require(Self.finished(machine.received(again)))
        #expect(outcome.code == .invalidMetadata && outcome.attr == "region_name")
    }

    @Test func s3ErrorCodesAreTheVerdict() throws {
        var machine = try Self.s3()
        _ = machine.start()
        let outcome = try #require(Self.finished(machine.received(Self.answer(403, "<Error><Code>SignatureDoesNotMatch</Code></Error>"))))
        #expect(outcome.code == .authFailed && outcome.attr == "secret" && outcome.stage == .request)
        var buckets = try Self.s3(bucket: nil)
        #expect(Self.sent(buckets.start())?.url == "http://127.0.0.1:9000/")
        // A transport failure (connection refused) is classified from curl's code and errno.
        let refused = try #require(Self.finished(buckets.received(HTTPResult(curlCode: 7, osErrno: Int(ECONNREFUSED)))))
        #expect(refused.code == .connectionRefused)
    }

    // MARK: Google (service account, shared token)

    static func google(bucket: String = "ce-probe") throws -> GoogleProbeMachine {
        let key: JSONValue = [
            "type": "service_account", "client_email": "sa@p.iam.gserviceaccount.com", "private_key": .string(rsaKey), "project_id": "p",
        ]
        let account = try GoogleServiceAccount(json: String(decoding: key.serialized(), as: UTF8.self))
        let call = GoogleCall(
            scope: "https://www.googleapis.com/auth/devstorage.read_only", method: "GET",
            url: "http://127.0.0.1:1/storage/v1/b/\(bucket)?fields=name", body: [], resourceAttr: "bucket")
        return GoogleProbeMachine(account: account, tokenURL: "http://127.0.0.1:1/token", call: call, caFile: nil)
    }

    @Test func googleUsesACachedTokenWithoutFetching() throws {
        var machine = try Self.google()
        guard case .claimToken = machine.start() else { Issue.record("the probe must ask the cache first"); return }
        let call = try #require(Self.sent(machine.tokenClaimed(.token("cached"))))
        #expect(call.url.hasSuffix("/storage/v1/b/ce-probe?fields=name") && call.stage == .request)
        #expect(Self.header(call, "Authorization") == "Bearer cached")
        let missing = try #require(Self.finished(machine.received(Self.answer(404, #"{"error":{"errors":[{"reason":"notFound"}]}}"#))))
        #expect(missing.code == .notFound && missing.attr == "bucket")
    }

    @Test func googleFetchesPublishesThenCalls() throws {
        var machine = try Self.google()
        _ = machine.start()
        let fetch = try #require(Self.sent(machine.tokenClaimed(.fetch)))
        #expect(fetch.method == "POST" && fetch.url == "http://127.0.0.1:1/token" && fetch.stage == .auth)
        #expect(String(decoding: fetch.body, as: UTF8.self).hasPrefix("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion="))
        let step = machine.received(Self.answer(200, #"{"access_token":"fresh","expires_in":3599}"#))
        guard case .effect(.publishToken(let token, let expiresIn), let then) = step else {
            Issue.record("the fetched token must be published: \(step)")
            return
        }
        #expect(token == "fresh" && expiresIn == 3599)
        #expect(Self.header(Self.sent(then), "Authorization") == "Bearer fresh")
        #expect(Self.finished(machine.received(Self.answer(200, #"{"name":"ce-probe"}"#))) == .ok)
    }

    @Test func googleRefusedKeyEndsTheProbe() throws {
        var machine = try Self.google()
        _ = machine.start()
        _ = machine.tokenClaimed(.fetch)
        let outcome = try #require(Self.finished(machine.received(Self.answer(400, #"{"error":"invalid_grant"}"#))))
        #expect(outcome.code == .authFailed && outcome.attr == "json_credentials" && outcome.stage == .auth)
    }

    // MARK: Drive and Dropbox (OAuth bearer, refreshed once)

    static let drive = DriveProbeDriver(
        endpoints: GoogleEndpoints(tokenURL: "http://127.0.0.1:1/token", driveURL: "http://127.0.0.1:1", oauthClient: ("client", "secret")))

    @Test func driveCallsWithTheStoredToken() throws {
        var machine = try Self.drive.prepare(["access_token": "a1", "refresh_token": "r1"]).machine
        let call = try #require(Self.sent(machine.start()))
        #expect(call.url == "http://127.0.0.1:1/drive/v3/about?fields=user" && Self.header(call, "Authorization") == "Bearer a1")
        #expect(Self.finished(machine.received(Self.answer(200, #"{"user":{}}"#))) == .ok)
    }

    @Test func driveRefreshesOnceThenCallsWithTheNewToken() throws {
        var machine = try Self.drive.prepare(["access_token": "a1", "refresh_token": "r1"]).machine
        _ = machine.start()
        let refresh = try #require(Self.sent(machine.received(Self.answer(401))))
        #expect(refresh.method == "POST" && refresh.url == "http://127.0.0.1:1/token" && refresh.stage == .auth)
        #expect(String(decoding: refresh.body, as: UTF8.self).contains("refresh_token=r1"))
        let step = machine.received(Self.answer(200, #"{"access_token":"a2","expires_in":3599}"#))
        guard case .effect(.refreshedTokens(let tokens), let then) = step else {
            Issue.record("the refreshed tokens must reach the report: \(step)")
            return
        }
        #expect(tokens.accessToken == "a2" && tokens.refreshToken == "r1")
        #expect(Self.header(Self.sent(then), "Authorization") == "Bearer a2")
        // Refused again after the refresh: no second refresh, and the verdict blames the refresh token.
        let outcome = try #require(Self.finished(machine.received(Self.answer(401))))
        #expect(outcome.code == .authFailed && outcome.attr == "refresh_token")
    }

    @Test func driveRevokedRefreshTokenIsTheVerdict() throws {
        var machine = try Self.drive.prepare(["access_token": "a1", "refresh_token": "r1"]).machine
        _ = machine.start()
        _ = machine.received(Self.answer(401))
        let outcome = try #require(Self.finished(machine.received(Self.answer(400, #"{"error":"invalid_grant"}"#))))
        #expect(outcome.code == .authFailed && outcome.attr == "refresh_token")
    }

    @Test func driveRefreshesFirstAnAccessTokenKnownToHaveExpired() throws {
        let stale: JSONValue = ["access_token": "a1", "refresh_token": "r1", "auth_time": 1_000, "expires": 3599]
        var machine = try Self.drive.prepare(stale).machine
        #expect(Self.sent(machine.start())?.stage == .auth)
    }

    @Test func driveWarnsBeforeTheRefreshTokensAgeLimit() throws {
        var endpoints = Self.drive.endpoints
        endpoints.refreshTokenMaxAge = 7 * 86_400
        let issued = Date().addingTimeInterval(-86_400).timeIntervalSince1970.rounded(.down)
        var machine = try DriveProbeDriver(endpoints: endpoints).prepare(
            ["access_token": "a1", "refresh_token": "r1", "refresh_token_issued_at": .number(issued)]
        ).machine
        guard case .effect(.expiry(.refreshTokenExpires, let at, let attr), let then) = machine.start() else {
            Issue.record("no expiry warning")
            return
        }
        #expect(attr == "refresh_token" && at.timeIntervalSince1970 == issued + 7 * 86_400)
        #expect(Self.sent(then)?.stage == .request)
    }

    @Test func dropboxWithoutARefreshTokenEndsOnTheRefusal() throws {
        let driver = DropboxProbeDriver(endpoints: DropboxEndpoints(apiURL: "http://127.0.0.1:1"))
        var machine = try driver.prepare(["token": "t1"]).machine
        let call = try #require(Self.sent(machine.start()))
        #expect(call.method == "POST" && call.url == "http://127.0.0.1:1/2/users/get_current_account")
        let outcome = try #require(Self.finished(machine.received(Self.answer(401, #"{"error":{".tag":"expired_access_token"}}"#))))
        #expect(outcome.code == .authFailed && outcome.attr == "token")
    }

    // MARK: Snowflake

    @Test func snowflakeLogsInWithAPasswordOrAKeyPair() throws {
        let base: [String: JSONValue] = ["user": "u", "account": "acct", "database": "d", "schema": "s", "warehouse": "w", "role": "r"]
        var password = base
        password["password"] = "pw"
        var machine = SnowflakeProbeMachine(
            settings: try SnowflakeSettings(metadata: .object(password)), url: "http://127.0.0.1:1/login", caFile: nil)
        let login = try #require(Self.sent(machine.start()))
        let body = try JSONValue.parse(login.body)
        #expect(login.stage == .auth && body["data"]?["PASSWORD"] == "pw" && body["data"]?["AUTHENTICATOR"] == nil)
        #expect(Self.finished(machine.received(Self.answer(200, #"{"success":true}"#))) == .ok)
        let refused = try #require(Self.finished(machine.received(Self.answer(200, #"{"success":false,"code":"390100"}"#))))
        #expect(refused.code == .authFailed && refused.attr == "password")

        var keyPair = base
        keyPair["private_key"] = .string(Self.rsaKey)
        machine = SnowflakeProbeMachine(settings: try SnowflakeSettings(metadata: .object(keyPair)), url: "http://127.0.0.1:1/login", caFile: nil)
        let jwt = try JSONValue.parse(try #require(Self.sent(machine.start())).body)
        #expect(jwt["data"]?["AUTHENTICATOR"] == "SNOWFLAKE_JWT" && jwt["data"]?["TOKEN"]?.stringValue?.split(separator: ".").count == 3)
        let skew = try #require(Self.finished(machine.received(Self.answer(200, #"{"success":false,"code":"394301"}"#))))
        #expect(skew.code == .clockSkew && skew.attr == "private_key")
    }

    // MARK: A form POST (the OAuth code exchange)

    @Test func aFormPostDeliversAnyAnswerAndFailsOnlyOnTransport() throws {
        let machine = FormPostMachine(call: HTTPCall(method: "POST", url: "http://127.0.0.1:1/token", stage: .request))
        guard case .effect(.deliver(let delivered), .finish(.ok)) = machine.received(Self.answer(400, "{}")) else {
            Issue.record("an HTTP answer must be delivered")
            return
        }
        #expect(delivered.status == 400)
        let failed = try #require(Self.finished(machine.received(HTTPResult(curlCode: 28))))
        #expect(failed.code == .timeout)
    }
}
