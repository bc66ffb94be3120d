import ConnectorCore
import CurlDriver
import ProbeEngine

/// Reads Google's answers from their structured fields only: the OAuth `error` code of the token
/// endpoint, and the HTTP status with `error.errors[].reason` of the JSON APIs.
enum GoogleClassifier {
    struct Grant: Equatable {
        let token: String
        let expiresIn: Int
    }

    struct Failure: Error, Equatable {
        let outcome: ProbeOutcome
    }

    /// The token endpoint's answer.
    static func token(_ result: HTTPResult) -> Result<Grant, Failure> {
        guard result.succeeded else { return .failure(Failure(outcome: HTTPFailure.transport(result, attr: "json_credentials"))) }
        let json = try? JSONValue.parse(result.body)
        if result.status == 200 {
            guard let token = json?["access_token"]?.stringValue, !token.isEmpty else {
                return .failure(Failure(outcome: ProbeOutcome(.protocolError, detail: "The token endpoint sent no access token.", stage: .auth)))
            }
            let expires: Int
            switch json?["expires_in"] {
            case .number(let seconds)?: expires = Int(seconds)
            case .string(let text)?: expires = Int(text) ?? 0
            default: expires = 0
            }
            return .success(Grant(token: token, expiresIn: expires))
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
            outcome = status(result.status, signal: signal, stage: .auth, attr: "json_credentials")
        }
        return .failure(Failure(outcome: outcome))
    }

    /// The service call's answer.
    static func call(_ result: HTTPResult, resourceAttr: String) -> ProbeOutcome {
        guard result.succeeded else { return HTTPFailure.transport(result, attr: resourceAttr) }
        if (200..<300).contains(result.status) { return .ok }
        let json = try? JSONValue.parse(result.body)
        var reason: String?
        if case .array(let errors)? = json?["error"]?["errors"] { reason = errors.first?["reason"]?.stringValue }
        let signal = "Google \(reason ?? "-") (HTTP \(result.status))"
        switch (result.status, reason) {
        case (401, _):
            return ProbeOutcome(.authFailed, attr: "json_credentials", detail: "The access token was refused.", signal: signal, stage: .request)
        case (_, "rateLimitExceeded"?), (_, "quotaExceeded"?), (_, "userRateLimitExceeded"?), (429, _):
            return ProbeOutcome(.throttled, signal: signal, stage: .request)
        case (403, _):
            return ProbeOutcome(
                .permissionDenied, attr: resourceAttr, detail: "The service account may not use this resource.", signal: signal,
                stage: .request)
        case (404, _):
            return ProbeOutcome(.notFound, attr: resourceAttr, detail: "The resource does not exist.", signal: signal, stage: .request)
        default:
            return status(result.status, signal: signal, stage: .request, attr: resourceAttr)
        }
    }

    private static func status(_ status: Int, signal: String, stage: ProbeStage, attr: String) -> ProbeOutcome {
        switch status {
        case 400: return ProbeOutcome(.invalidMetadata, attr: attr, signal: signal, stage: stage)
        case 429: return ProbeOutcome(.throttled, signal: signal, stage: stage)
        case 500...599: return ProbeOutcome(.serverError, signal: signal, stage: stage)
        default: return ProbeOutcome(.protocolError, signal: signal, stage: stage)
        }
    }
}
