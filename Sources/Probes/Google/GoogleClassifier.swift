import ConnectorCore
import CurlDriver
import ProbeEngine

/// Reads Google's API answers from their structured fields only: the HTTP status with
/// `error.errors[].reason`.
enum GoogleClassifier {
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

    static func status(_ status: Int, signal: String, stage: ProbeStage, attr: String) -> ProbeOutcome {
        switch status {
        case 400: return ProbeOutcome(.invalidMetadata, attr: attr, signal: signal, stage: stage)
        case 429: return ProbeOutcome(.throttled, signal: signal, stage: stage)
        case 500...599: return ProbeOutcome(.serverError, signal: signal, stage: stage)
        default: return ProbeOutcome(.protocolError, signal: signal, stage: stage)
        }
    }
}
