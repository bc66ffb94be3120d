import ConnectorCore
import CurlDriver
import ProbeEngine
import Testing

@testable import Probes

@Suite struct GoogleClassifierTests {
    static func answer(_ status: Int, _ body: String) -> HTTPResult {
        HTTPResult(curlCode: 0, status: status, body: Array(body.utf8))
    }

    @Test func tokenGrantsAndRefusals() {
        #expect(
            OAuthToken.read(Self.answer(200, #"{"access_token": "ya29.x", "expires_in": 3599, "token_type": "Bearer"}"#))
                == .success(.init(token: "ya29.x", expiresIn: 3599)))
        #expect(OAuthToken.read(Self.answer(200, #"{"access_token": "t", "expires_in": "60"}"#)) == .success(.init(token: "t", expiresIn: 60)))
        // Issue 8 §10: absurd lifetimes are clamped to a day, never trap, never cache for ever.
        for (lifetime, expected) in [("1e300", 86_400), ("-5", 0), ("\"1e300\"", 86_400), ("1e-300", 0), ("\"NaN\"", 0)] {
            let answer = Self.answer(200, #"{"access_token": "t", "expires_in": "# + lifetime + "}")
            #expect(OAuthToken.read(answer) == .success(.init(token: "t", expiresIn: expected)), "\(lifetime)")
        }
        let cases: [(Int, String, OutcomeCode)] = [
            (400, #"{"error": "invalid_grant", "error_description": "Invalid JWT Signature."}"#, .authFailed),
            (401, #"{"error": "invalid_client", "error_description": "The OAuth client was not found."}"#, .authFailed),
            (401, #"{"error": "unauthorized_client"}"#, .authFailed),
            (400, #"{"error": "invalid_scope"}"#, .protocolError),
            (503, #"{"error": "temporarily_unavailable"}"#, .serverError),
            (200, #"{"token_type": "Bearer"}"#, .protocolError),
        ]
        for (status, body, code) in cases {
            guard case .failure(let failure) = OAuthToken.read(Self.answer(status, body)) else {
                Issue.record("accepted \(body)")
                continue
            }
            #expect(failure.outcome.code == code, "\(body)")
            #expect(failure.outcome.stage == .auth)
        }
    }

    @Test func serviceAnswersByStatusAndReason() {
        func error(_ code: Int, _ reason: String) -> String {
            #"{"error": {"code": \#(code), "message": "m", "errors": [{"domain": "global", "reason": "\#(reason)", "message": "m"}]}}"#
        }
        let cases: [(Int, String, OutcomeCode, String?)] = [
            (200, #"{"name": "ce-probe"}"#, .ok, nil),
            (401, error(401, "authError"), .authFailed, "json_credentials"),
            (403, error(403, "forbidden"), .permissionDenied, "bucket"),
            (403, error(403, "accessDenied"), .permissionDenied, "bucket"),
            (403, error(403, "rateLimitExceeded"), .throttled, nil),
            (403, error(403, "quotaExceeded"), .throttled, nil),
            (404, error(404, "notFound"), .notFound, "bucket"),
            (400, error(400, "invalid"), .invalidMetadata, "bucket"),
            (503, error(503, "backendError"), .serverError, nil),
        ]
        for (status, body, code, attr) in cases {
            let outcome = GoogleClassifier.call(Self.answer(status, body), resourceAttr: "bucket")
            #expect(outcome.code == code, "\(status) \(body)")
            #expect(outcome.attr == attr, "\(status) \(body)")
        }
        #expect(GoogleClassifier.call(HTTPResult(curlCode: 7, osErrno: 111), resourceAttr: "bucket").code == .connectionRefused)
    }
}
