import ConnectorCore
import Foundation

/// How a token endpoint is reached: the API sends the request over the engine's libcurl driver,
/// under the egress policy; tests may answer directly.
public protocol OAuthTokenEndpoint: Sendable {
    /// POSTs `form` (`application/x-www-form-urlencoded`) to `url` on behalf of `tenant`.
    func post(url: String, form: [(String, String)], tenant: String) async -> OAuthTokenAnswer
}

/// A token endpoint's answer, or why there was none.
public enum OAuthTokenAnswer: Sendable {
    case answered(status: Int, body: [UInt8])
    /// No answer: the probe outcome code (`connection_refused`, `egress_denied`, `timeout`, …).
    case unreachable(code: String)
}

/// The settings of the OAuth flow (DESIGN §5).
public struct OAuthSettings: Sendable {
    /// The backends whose client id and secret are configured.
    public var providers: [OAuthBackend: OAuthProvider]
    /// The server's public base URL; the provider sends the browser back to
    /// `<base>/api/v1/oauth/complete/<backend>/`, which must be registered with the provider.
    public var publicBaseURL: String
    /// How long an issued key and its token set live in the cache (`--oauth-cache-ttl`).
    public var cacheTTL: Duration
    /// How long a consent screen may stay open before its `state` is void.
    public var loginTTL: Duration

    public init(
        providers: [OAuthBackend: OAuthProvider], publicBaseURL: String, cacheTTL: Duration = .seconds(3600),
        loginTTL: Duration = .seconds(600)
    ) {
        self.providers = providers
        self.publicBaseURL = publicBaseURL.hasSuffix("/") ? String(publicBaseURL.dropLast()) : publicBaseURL
        self.cacheTTL = cacheTTL
        self.loginTTL = loginTTL
    }

    /// The redirect URI of `backend`, as registered with the provider.
    public func redirectURI(_ backend: OAuthBackend) -> String {
        "\(publicBaseURL)/api/v1/oauth/complete/\(backend.rawValue)/"
    }

    /// The settings that configure a backend's client, named in errors (Unstract's names).
    public static func clientSettings(_ backend: OAuthBackend) -> [String] {
        switch backend {
        case .google: ["GOOGLE_OAUTH2_KEY", "GOOGLE_OAUTH2_SECRET"]
        case .dropbox: ["DROPBOX_OAUTH2_KEY", "DROPBOX_OAUTH2_SECRET"]
        }
    }
}

/// How a flow ended, for the status page: `reason` is a short code (`access_denied`,
/// `invalid_state`, `exchange_failed`, …), never provider text or a secret.
public struct OAuthFlowStatus: Sendable, Equatable {
    public let succeeded: Bool
    public let reason: String?

    public static let success = OAuthFlowStatus(succeeded: true, reason: nil)
    public static func failure(_ reason: String) -> OAuthFlowStatus { OAuthFlowStatus(succeeded: false, reason: reason) }
}

/// Where the login route sends the browser.
public enum OAuthLoginStep: Sendable, Equatable {
    /// The provider's consent screen.
    case consent(String)
    /// The status page: the flow cannot start.
    case refused(OAuthFlowStatus)
}

/// Why a cache key could not be issued.
public enum OAuthKeyIssueError: Error, Sendable, Equatable {
    case unknownBackend
    /// The backend's client is not configured: the settings to set.
    case notConfigured([String])
}

/// Why a cache key could not be used by a test, create or update.
public enum OAuthKeyUseError: Error, Sendable, Equatable {
    /// Not a cache key at all (400, naming `oauth-key`).
    case malformed
    /// Missing, expired, or its flow never completed: 408 `oauth_timeout`.
    case timedOut
    /// Issued to another user or organization: 403; the entry is left alone.
    case forbidden
    /// Issued for another provider than the connector's: 400.
    case wrongBackend
}

/// A completed flow's token set, read for one use of its key, with what removing it needs.
public struct OAuthKeyUse: Sendable {
    public let tokens: OAuthTokenSet
    public let key: OAuthCacheKey
    /// The entry as read: it is removed only while unchanged.
    public let sealed: [UInt8]
}

/// The authorization-code flow: issue a cache key, send the browser to the consent screen with a
/// single-use `state` and PKCE, exchange the code the provider returns, keep the token set
/// sealed under the key until a test, create or update uses it.
public struct OAuthFlowService: Sendable {
    public let settings: OAuthSettings
    public let cache: OAuthTokenCache
    let endpoint: any OAuthTokenEndpoint

    public init(settings: OAuthSettings, cache: OAuthTokenCache, endpoint: any OAuthTokenEndpoint) {
        self.settings = settings
        self.cache = cache
        self.endpoint = endpoint
    }

    /// `GET cache-key/{backend}`: a fresh key for the caller, recorded as issued for the cache TTL.
    public func issueKey(organization: String, userID: Int64, backend name: String) async throws -> OAuthCacheKey {
        guard let backend = OAuthBackend(rawValue: name) else { throw OAuthKeyIssueError.unknownBackend }
        guard settings.providers[backend] != nil else {
            throw OAuthKeyIssueError.notConfigured(OAuthSettings.clientSettings(backend))
        }
        let key = OAuthCacheKey(organization: organization, userID: userID, backend: backend)
        try await cache.put(.issued, for: key, ttl: settings.cacheTTL)
        return key
    }

    /// `GET login/{backend}/?oauth-key=`: the consent-screen URL, or why the flow cannot start.
    /// The key itself authorizes (a popup carries no bearer header): it must be issued, unexpired,
    /// not yet completed, and for this backend.
    public func login(backend name: String, key text: String?) async throws -> OAuthLoginStep {
        guard let backend = OAuthBackend(rawValue: name), let provider = settings.providers[backend] else {
            return .refused(.failure("unknown_backend"))
        }
        guard let text, let key = OAuthCacheKey(text), key.backend == backend else { return .refused(.failure("invalid_key")) }
        guard case .issued? = try await cache.entry(for: key)?.entry else { return .refused(.failure("expired_key")) }
        let state = OAuthRandom.token()
        let pkce = PKCE.generate()
        let redirectURI = settings.redirectURI(backend)
        try await cache.putLogin(
            OAuthPendingLogin(cacheKey: key, verifier: pkce.verifier, redirectURI: redirectURI), state: state, ttl: settings.loginTTL)
        return .consent(provider.authorizationURL(redirectURI: redirectURI, state: state, pkce: pkce))
    }

    /// `GET complete/{backend}/?code=&state=` (or `?error=&state=`): takes the state (once),
    /// exchanges the code, and caches the token set under the flow's key. Nothing is cached on
    /// any failure.
    public func complete(backend name: String, query: [String: String], issuedAt: Date = Date()) async throws -> OAuthFlowStatus {
        guard let backend = OAuthBackend(rawValue: name), let provider = settings.providers[backend] else {
            return .failure("unknown_backend")
        }
        guard let state = query["state"], !state.isEmpty, state.count <= 128, let login = try await cache.takeLogin(state: state),
            login.cacheKey.backend == backend
        else { return .failure("invalid_state") }
        if let error = query["error"] {
            return .failure(Self.isErrorCode(error) ? error : "provider_error")
        }
        guard let code = query["code"], !code.isEmpty else { return .failure("missing_code") }
        guard case .issued? = try await cache.entry(for: login.cacheKey)?.entry else { return .failure("expired_key") }
        let form = [
            ("grant_type", "authorization_code"), ("code", code), ("redirect_uri", login.redirectURI),
            ("client_id", provider.clientID), ("client_secret", provider.clientSecret), ("code_verifier", login.verifier),
        ]
        switch await endpoint.post(url: provider.tokenURL, form: form, tenant: login.cacheKey.organization) {
        case .unreachable:
            return .failure("provider_unreachable")
        case .answered(let status, let body):
            let json = try? JSONValue.parse(body)
            guard status == 200, let json, let tokens = OAuthTokenSet(grant: json, issuedAt: issuedAt) else {
                let error = json?["error"]?.stringValue
                return .failure("exchange_failed" + (error.map { Self.isErrorCode($0) ? ":\($0)" : "" } ?? ""))
            }
            try await cache.put(.completed(tokens), for: login.cacheKey, ttl: settings.cacheTTL)
            return .success
        }
    }

    /// The token set a completed flow cached, for the caller who started it; left in the cache
    /// (a test reads it; a create or update removes it after its write committed, with the
    /// returned sealed bytes).
    /// - Parameter backend: the connector's OAuth backend, which the key must be for.
    public func tokens(
        key text: String, organization: String, userID: Int64, backend: String?
    ) async throws -> OAuthKeyUse {
        guard let key = OAuthCacheKey(text) else { throw OAuthKeyUseError.malformed }
        guard key.organization == organization, key.userID == userID else { throw OAuthKeyUseError.forbidden }
        guard backend == key.backend.rawValue else { throw OAuthKeyUseError.wrongBackend }
        guard let (entry, sealed) = try await cache.entry(for: key), case .completed(let tokens) = entry, !tokens.isEmpty else {
            throw OAuthKeyUseError.timedOut
        }
        return OAuthKeyUse(tokens: tokens, key: key, sealed: sealed)
    }

    /// An OAuth error code as RFC 6749 spells them (`access_denied`): safe to show and to log.
    static func isErrorCode(_ text: String) -> Bool {
        !text.isEmpty && text.count <= 40 && text.utf8.allSatisfy { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || $0 == UInt8(ascii: "_") }
    }
}
