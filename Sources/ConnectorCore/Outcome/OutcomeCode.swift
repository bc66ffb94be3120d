/// The outcome vocabulary of a credential test (DESIGN §4): a code, the HTTP status it maps to,
/// whether trying again may help, and the error-body type it renders as.
public struct OutcomeCode: Sendable, Hashable, CustomStringConvertible {
    /// The wire value, e.g. `auth_failed`.
    public let rawValue: String
    /// The HTTP status of a test that ends with this code.
    public let status: Int
    /// Whether the same test may pass if simply tried again.
    public let retryable: Bool
    /// A one-line description of what happened, in our words.
    public let summary: String
    /// A one-line suggestion of what to fix.
    public let defaultHint: String

    private init(_ rawValue: String, _ status: Int, retryable: Bool = false, _ summary: String, hint: String) {
        self.rawValue = rawValue
        self.status = status
        self.retryable = retryable
        self.summary = summary
        self.defaultHint = hint
    }

    public var description: String { rawValue }

    /// The `type` of the Unstract error body for this outcome.
    public var errorType: String {
        switch self {
        case .invalidMetadata, .unknownConnector: "validation_error"
        default: status >= 500 ? "server_error" : "client_error"
        }
    }

    public static let ok = OutcomeCode("ok", 200, "The credentials work.", hint: "Nothing to fix.")
    public static let unknownConnector = OutcomeCode(
        "unknown_connector", 400, "The connector id is not in the catalog.",
        hint: "Use an id from supported_connectors/.")
    public static let invalidMetadata = OutcomeCode(
        "invalid_metadata", 400, "The connector metadata does not match its schema.",
        hint: "Fix the named field; see connector_schema/.")
    public static let hostNotFound = OutcomeCode(
        "host_not_found", 400, "The host name does not exist.", hint: "Check the host name for typos.")
    public static let notFound = OutcomeCode(
        "not_found", 400, "Signed in, but the named resource does not exist.",
        hint: "Check the name of the database, schema or bucket.")
    public static let authFailed = OutcomeCode(
        "auth_failed", 403, "The server rejected the credentials.", hint: "Check the user name and password.")
    public static let permissionDenied = OutcomeCode(
        "permission_denied", 403, "Signed in, but not allowed to use the resource.",
        hint: "Grant the user the missing privilege.")
    public static let egressDenied = OutcomeCode(
        "egress_denied", 403, "The address is forbidden by this engine's egress policy.",
        hint: "Use an address the engine is allowed to reach.")
    public static let oauthTimeout = OutcomeCode(
        "oauth_timeout", 408, "The OAuth cache key is unknown or expired.", hint: "Sign in with the provider again.")
    public static let timeout = OutcomeCode(
        "timeout", 408, retryable: true, "The test did not finish before its deadline.",
        hint: "Check that the host and port are right and reachable from the engine.")
    public static let connectionRefused = OutcomeCode(
        "connection_refused", 500, retryable: true, "Nothing accepted the connection at that address and port.",
        hint: "Check the port and that the server is running.")
    public static let networkUnreachable = OutcomeCode(
        "network_unreachable", 500, retryable: true, "There is no route to the host.",
        hint: "Check the host and the network path from the engine.")
    public static let dnsFailure = OutcomeCode(
        "dns_failure", 500, retryable: true, "Name resolution failed for a reason other than a missing name.",
        hint: "Try again; check the engine's DNS configuration.")
    public static let tlsFailure = OutcomeCode(
        "tls_failure", 500, "The TLS handshake or certificate verification failed.",
        hint: "Check the TLS mode, the trusted CA and that the host name matches the certificate.")
    public static let serverError = OutcomeCode(
        "server_error", 500, retryable: true, "The server failed while answering.", hint: "Try again later.")
    public static let throttled = OutcomeCode(
        "throttled", 500, retryable: true, "The server is refusing work because it is overloaded.",
        hint: "Try again later or raise the server's connection limit.")
    public static let clockSkew = OutcomeCode(
        "clock_skew", 500, "The server rejected the request's time.", hint: "Check the engine host's clock.")
    public static let protocolError = OutcomeCode(
        "protocol_error", 500, "The far side answered something that is not the expected protocol.",
        hint: "Check that the port belongs to the right kind of server.")

    /// Every code, for lookups by wire value.
    public static let all: [OutcomeCode] = [
        .ok, .unknownConnector, .invalidMetadata, .hostNotFound, .notFound, .authFailed, .permissionDenied,
        .egressDenied, .oauthTimeout, .timeout, .connectionRefused, .networkUnreachable, .dnsFailure,
        .tlsFailure, .serverError, .throttled, .clockSkew, .protocolError,
    ]

    /// The code with wire value `rawValue`, if it exists.
    public init?(rawValue: String) {
        guard let code = Self.all.first(where: { $0.rawValue == rawValue }) else { return nil }
        self = code
    }
}
