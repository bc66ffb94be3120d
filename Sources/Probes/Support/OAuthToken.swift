import ConnectorCore
import CurlDriver
import ProbeEngine

/// Reads an OAuth 2 token endpoint's answer from its structured fields: `access_token` and
/// `expires_in`, or the `error` code. The verdicts blame `json_credentials`; callers with other
/// credentials re-point `attr`.
enum OAuthToken {
    struct Grant: Equatable {
        let token: String
        let expiresIn: Int
    }

    struct Failure: Error, Equatable {
        let outcome: ProbeOutcome
    }

    /// A token endpoint's answer (RFC 6749 §5.1, §5.2).
    static func read(_ result: HTTPResult) -> Result<Grant, Failure> {
        guard result.succeeded else { return .failure(Failure(outcome: HTTPFailure.transport(result, attr: "json_credentials"))) }
        let json = try? JSONValue.parse(result.body)
        if result.status == 200 {
            guard let token = json?["access_token"]?.stringValue, !token.isEmpty else {
                return .failure(Failure(outcome: ProbeOutcome(.protocolError, detail: "The token endpoint sent no access token.", stage: .auth)))
            }
            // 0 means "do not cache".
            return .success(Grant(token: token, expiresIn: OAuthTokenSet.lifetime(json?["expires_in"])))
        }
        let code = json?["error"]?.stringValue
        let signal = "OAuth \(code ?? "-") (HTTP \(result.status))"
        let outcome: ProbeOutcome
        switch code {
        case "invalid_grant", "invalid_client", "unauthorized_client", "access_denied":
            outcome = ProbeOutcome(
                .authFailed, attr: "json_credentials", detail: "Google refused the service-account key.", signal: signal, stage: .auth)
        case "invalid_scope", "invalid_request", "unsupported_grant_type":
            outcome = ProbeOutcome(.protocolError, detail: "The token request was refused as malformed.", signal: signal, stage: .auth)
        default:
            outcome = GoogleClassifier.status(result.status, signal: signal, stage: .auth, attr: "json_credentials")
        }
        return .failure(Failure(outcome: outcome))
    }

}
