import ConnectorCore
import CurlDriver
import Foundation
import LinuxIO
import ProbeEngine

/// What an S3 answer means for the probe.
enum S3Verdict: Equatable {
    case ok
    /// The bucket lives in another region: sign again for it (once).
    case retry(region: String)
    case outcome(ProbeOutcome)
}

/// Classifies an S3 response or a transport failure from structured signals only: libcurl's
/// result code and errno, the HTTP status, S3's `<Code>` and the `x-amz-bucket-region` header.
enum S3Classifier {
    static func classify(_ result: HTTPResult, settings: S3Settings, region: String) -> S3Verdict {
        guard result.succeeded else { return .outcome(HTTPFailure.transport(result, attr: "endpoint_url")) }
        if (200..<300).contains(result.status) { return .ok }
        let body = String(decoding: result.body, as: UTF8.self)
        let code = element("Code", in: body)
        let signal = code.map { "S3 \($0) (HTTP \(result.status))" } ?? "HTTP \(result.status)"
        let bucketAttr = settings.bucket == nil ? "key" : "bucket"
        func outcome(_ outcome: OutcomeCode, _ attr: String?, _ detail: String) -> S3Verdict {
            .outcome(ProbeOutcome(outcome, attr: attr, detail: detail, signal: signal, stage: .request))
        }
        // A bucket in another region: the answer names it.
        let redirect =
            [301, 307].contains(result.status) || code == "PermanentRedirect" || code == "TemporaryRedirect"
            || code == "AuthorizationHeaderMalformed" || code == "IllegalLocationConstraintException"
        if redirect {
            if let other = result.header("x-amz-bucket-region") ?? element("Region", in: body), !other.isEmpty, other != region {
                return .retry(region: other)
            }
            return outcome(.invalidMetadata, "region_name", "The service rejected the region or endpoint for this bucket.")
        }
        switch code {
        case "InvalidAccessKeyId":
            return outcome(.authFailed, "key", "The access key id is not known to the service.")
        case "SignatureDoesNotMatch":
            return outcome(.authFailed, "secret", "The secret does not match the access key id.")
        case "InvalidToken", "ExpiredToken", "TokenRefreshRequired":
            return outcome(.authFailed, "key", "The session token was refused.")
        case "AccessDenied", "AllAccessDisabled", "AccountProblem":
            let what = settings.bucket == nil ? "list the buckets of the account" : "list the bucket"
            return outcome(.permissionDenied, bucketAttr, "The credentials are valid but may not \(what).")
        case "NoSuchBucket":
            return outcome(.notFound, "bucket", "The bucket does not exist.")
        case "InvalidBucketName":
            return outcome(.invalidMetadata, "bucket", "The service rejected the bucket name.")
        case "RequestTimeTooSkewed", "RequestExpired":
            return outcome(.clockSkew, nil, "The service says this machine's clock is too far off.")
        case "SlowDown", "Throttling", "RequestLimitExceeded":
            return outcome(.throttled, nil, "The service is throttling requests.")
        default:
            break
        }
        switch result.status {
        case 401, 403: return outcome(.permissionDenied, bucketAttr, "The service refused the request.")
        case 404: return outcome(.notFound, settings.bucket == nil ? "endpoint_url" : "bucket", "The service answered 404.")
        case 429, 503: return outcome(.throttled, nil, "The service is busy or throttling requests.")
        case 500...599: return outcome(.serverError, nil, "The service failed to answer.")
        default: return outcome(.protocolError, "endpoint_url", "The endpoint did not answer like an S3 service.")
        }
    }

    /// The text of the first `<name>…</name>` element of an XML error body.
    static func element(_ name: String, in body: String) -> String? {
        guard let start = body.range(of: "<\(name)>"), let end = body.range(of: "</\(name)>", range: start.upperBound..<body.endIndex)
        else { return nil }
        return String(body[start.upperBound..<end.lowerBound])
    }
}
