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

    /// The longest lifetime a token is believed to have: an endpoint's `expires_in` is clamped to
    /// it (a day), so no answer (`1e300`, `NaN`, negative) can trap or pin a token for ever.
    static let longestLifetime = 86_400

    /// `expires_in` as whole seconds within 0...``longestLifetime``; 0 means "do not cache".
    static func lifetime(_ seconds: Double) -> Int {
        guard seconds.isFinite, seconds > 0 else { return 0 }
        return Int(min(seconds, Double(longestLifetime)))
    }

    /// A token endpoint's answer (RFC 6749 §5.1, §5.2).
    static func read(_ result: HTTPResult) -> Result<Grant, Failure> {
        guard result.succeeded else { return .failure(Failure(outcome: HTTPFailure.transport(result, attr: "json_credentials"))) }
        let json = try? JSONValue.parse(result.body)
        if result.status == 200 {
            guard let token = json?["access_token"]?.stringValue, !token.isEmpty else {
                return .failure(Failure(outcome: ProbeOutcome(.protocolError, detail: "The token endpoint sent no access token.", stage: .auth)))
            }
            let seconds: Double
            switch json?["expires_in"] {
            case .number(let number)?: seconds = number
            case .string(let text)?: seconds = Double(text) ?? 0
            default: seconds = 0
            }
            return .success(Grant(token: token, expiresIn: Self.lifetime(seconds)))
        }
        let code = json?["error"]?.stringValue
        let signal = "OAuth \(code ?? "-") (HTTP \(result.status))"
        let outcome: ProbeOutcome
        switch code {
        case "invalid_grant", "invalid_client", "unauthorized_client", "access_denied":
            outcome = ProbeOutcome(.authFailed, attr: "json_credentials", detail: "Google refused the service-account key.", signal: signal, stage: .auth)
        case "invalid_scope", "invalid_request", "unsupported_grant_type":
            outcome = ProbeOutcome(.protocolError, detail: "The token request was refused as malformed.", signal: signal, stage: .auth)
        default:
            outcome = GoogleClassifier.status(result.status, signal: signal, stage: .auth, attr: "json_credentials")
        }
        return .failure(Failure(outcome: outcome))
    }

}
