import ConnectorCore

/// The `code` of an API error body (`errors[].code`): why a request was refused, in the words the
/// Unstract API (Django REST framework) uses. A vocabulary apart from ``OutcomeCode``, the verdict
/// of a credential test: DRF's `throttled` here is this server's 429 (too many tests at once),
/// while the outcome `throttled` says the far side refused to take more; the two never mix.
public struct APIErrorCode: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String

    private init(_ rawValue: String) {
        self.rawValue = rawValue
    }

    /// An outcome code a route answers with before any probe runs (`unknown_connector`,
    /// `oauth_timeout`), so it reads the same as the verdict would.
    public init(_ outcome: OutcomeCode) {
        rawValue = outcome.rawValue
    }

    public var description: String { rawValue }

    // MARK: The request as a whole (DRF's exception codes).

    /// No valid `Authorization: Bearer` token (401).
    public static let notAuthenticated = APIErrorCode("not_authenticated")
    /// The caller may see the object but not do this to it (403).
    public static let permissionDenied = APIErrorCode("permission_denied")
    /// No such object for this caller, or no such route (404).
    public static let notFound = APIErrorCode("not_found")
    public static let methodNotAllowed = APIErrorCode("method_not_allowed")
    /// The body is not JSON, or not what the route reads (400).
    public static let parseError = APIErrorCode("parse_error")
    public static let payloadTooLarge = APIErrorCode("payload_too_large")
    /// Over the caller's or the organization's tests at once (429, with `Retry-After`).
    public static let throttled = APIErrorCode("throttled")
    /// An error the server did not expect (500); its cause is in the log, never in the answer.
    public static let error = APIErrorCode("error")

    // MARK: One field of the request (DRF's field codes; `attr` names the field).

    public static let required = APIErrorCode("required")
    public static let blank = APIErrorCode("blank")
    public static let invalid = APIErrorCode("invalid")
    public static let invalidChoice = APIErrorCode("invalid_choice")
    public static let maxLength = APIErrorCode("max_length")
    /// A member the route does not know (refused rather than ignored).
    public static let unknownField = APIErrorCode("unknown_field")
    /// A referenced object that is not there (a workflow's connector).
    public static let doesNotExist = APIErrorCode("does_not_exist")

    // MARK: This API's own.

    /// The name is taken in the organization (409).
    public static let duplicateName = APIErrorCode("duplicate_name")
    /// A workflow still uses the connector (409).
    public static let connectorInUse = APIErrorCode("connector_in_use")
    /// Someone else changed the connector meanwhile (409).
    public static let concurrentUpdate = APIErrorCode("concurrent_update")
    /// An OAuth backend this server does not know (400).
    public static let unknownBackend = APIErrorCode("unknown_backend")
    /// The server has no OAuth client for the backend (500).
    public static let keyNotConfigured = APIErrorCode("key_not_configured")
    /// The OAuth cache (Redis) did not answer (503).
    public static let oauthCacheUnavailable = APIErrorCode("oauth_cache_unavailable")
    /// The store refused connections or had none free within `--store-timeout` (503).
    public static let storeUnavailable = APIErrorCode("store_unavailable")
    /// The store's disk is full: the write was not kept (507).
    public static let storeFull = APIErrorCode("store_full")
    /// The store can only be read (a read-only file or database): the write was not kept (503).
    public static let storeReadOnly = APIErrorCode("store_read_only")
    /// The store's disk failed a write: it was not kept (503).
    public static let storeWriteFailed = APIErrorCode("store_write_failed")
    /// The server began shutting down and its grace ran out before the test finished (503).
    public static let shuttingDown = APIErrorCode("shutting_down")
    /// The binary was installed without its OpenAPI document (500).
    public static let documentMissing = APIErrorCode("document_missing")
}
