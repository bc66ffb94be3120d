import ConnectorCore
import ConnectorStore
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import OAuthFlow

/// The OAuth routes under the public prefix `/api/v1/oauth/` (DESIGN §3, §5): a cache key for
/// the caller, the login redirect a browser popup follows, the provider's callback, and the
/// status page the popup ends on.
extension ConnectorRoutes {
    func registerOAuth(on router: Router<APIRequestContext>) {
        let group = router.group("api/v1/oauth")
        group.get("cache-key/:backend") { request, context in try await oauthCacheKey(request, context: context) }
        group.get("login/:backend") { request, context in try await oauthLogin(request, context: context) }
        group.get("complete/:backend") { request, context in try await oauthComplete(request, context: context) }
        group.get("status") { request, _ in OAuthStatusPage.response(request.uri.queryParameters) }
    }

    /// `GET cache-key/{backend}` (bearer token; `?org_id=` when the user is in several organizations).
    func oauthCacheKey(_ request: Request, context: APIRequestContext) async throws -> Response {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer "), header.count > 7 else {
            throw APIError.unauthenticated
        }
        let token = String(header.dropFirst(7))
        let organization: String
        let userID: Int64
        if let named = request.uri.queryParameters.get("org_id") {
            switch try await store.authenticate(token: token, organization: named) {
            case .invalidToken: throw APIError.unauthenticated
            case .notMember: throw APIError.notFound
            case .caller(let caller): (organization, userID) = (caller.organizationID, caller.userID)
            }
        } else {
            guard let user = try await store.tokenUser(token: token) else { throw APIError.unauthenticated }
            guard let only = user.organizations.first else { throw APIError.notFound }
            guard user.organizations.count == 1 else {
                throw APIError.validation("You are a member of several organizations: name one with ?org_id=.", attr: "org_id", code: .required)
            }
            (organization, userID) = (only, user.userID)
        }
        let backend = context.parameters.get("backend") ?? ""
        do {
            let key = try await oauth.issueKey(organization: organization, userID: userID, backend: backend)
            return JSONResponse.make(status: .ok, body: ["cache_key": .string(key.description)])
        } catch OAuthKeyIssueError.unknownBackend {
            throw APIError.validation(
                "Unknown OAuth backend; one of \(OAuthBackend.allCases.map(\.rawValue).joined(separator: ", ")).", attr: "backend",
                code: .unknownBackend)
        } catch OAuthKeyIssueError.notConfigured(let settings) {
            throw APIError(
                .internalServerError, code: .keyNotConfigured,
                detail:
                    "The OAuth client for '\(backend)' is not configured on this server: set \(settings.joined(separator: " and ")) and restart it.")
        } catch let error as OAuthCacheUnavailable {
            throw Self.cacheUnavailable(error)
        }
    }

    /// `GET login/{backend}/?oauth-key=`: 302 to the consent screen, or to the status page with
    /// the reason the flow cannot start (never to the provider).
    func oauthLogin(_ request: Request, context: APIRequestContext) async throws -> Response {
        let step: OAuthLoginStep
        do {
            step = try await oauth.login(backend: context.parameters.get("backend") ?? "", key: request.uri.queryParameters.get("oauth-key"))
        } catch is OAuthCacheUnavailable {
            step = .refused(.failure("cache_unavailable"))
        }
        switch step {
        case .consent(let consentURL): return Self.redirect(to: consentURL)
        case .refused(let status): return Self.redirect(to: statusURL(status))
        }
    }

    /// `GET complete/{backend}/?code=&state=`: the provider's redirect. Ends on the status page.
    func oauthComplete(_ request: Request, context: APIRequestContext) async throws -> Response {
        var query: [String: String] = [:]
        for name in ["code", "state", "error"] { query[name] = request.uri.queryParameters.get(name) }
        let backend = context.parameters.get("backend") ?? ""
        let status: OAuthFlowStatus
        do {
            status = try await oauth.complete(backend: backend, query: query)
        } catch is OAuthCacheUnavailable {
            status = .failure("cache_unavailable")
        }
        context.logger.info(
            "oauth flow completed", metadata: ["oauth.backend": "\(backend)", "oauth.status": "\(status.reason ?? "success")"])
        return Self.redirect(to: statusURL(status))
    }

    /// The status page for `status`: `--oauth-status-url` (a frontend's `/oauth-status/`) when
    /// configured, else the server's own page.
    func statusURL(_ status: OAuthFlowStatus) -> String {
        var fields = [("status", status.succeeded ? "success" : "error")]
        if let reason = status.reason { fields.append(("reason", reason)) }
        let base = oauthStatusURL ?? ((publicURL.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 } ?? "") + "/api/v1/oauth/status/")
        return base + (base.contains("?") ? "&" : "?") + PercentEncoding.form(fields)
    }

    /// A 302 that is never cached and sends no referrer on (the callback URL holds the code).
    static func redirect(to location: String) -> Response {
        Response(
            status: .found,
            headers: [.location: location, .cacheControl: "no-store", HTTPField.Name("Referrer-Policy")!: "no-referrer"])
    }

    /// The OAuth cache cannot be reached: 503 with `Retry-After`, so clients retry rather than
    /// send the user through the flow again.
    static func cacheUnavailable(_ error: OAuthCacheUnavailable) -> APIError {
        .unavailable(.oauthCacheUnavailable, detail: "The OAuth token cache is unavailable; try again shortly.")
    }

    /// The token set of `oauth-key` for this caller and connector type, as a use of the key
    /// (test, create, update) needs it.
    /// - Throws: ``APIError``: 400 for a malformed key or another provider's, 403 for another
    ///   user's or organization's, 408 `oauth_timeout` for a missing or expired one, 503 when the
    ///   cache is down.
    func oauthTokens(
        key: String, caller: Caller, type: ConnectorType
    ) async throws -> OAuthKeyUse {
        do {
            return try await oauth.tokens(key: key, organization: caller.organizationID, userID: caller.userID, backend: type.oauthBackend)
        } catch OAuthKeyUseError.malformed {
            throw APIError.validation("Not an OAuth cache key.", attr: "oauth-key")
        } catch OAuthKeyUseError.wrongBackend {
            throw APIError.validation("This OAuth key was issued for another provider than this connector's.", attr: "oauth-key")
        } catch OAuthKeyUseError.forbidden {
            throw APIError(.forbidden, code: .permissionDenied, detail: "This OAuth key was issued to another user.", attr: "oauth-key")
        } catch OAuthKeyUseError.timedOut {
            throw APIError(.requestTimeout, code: APIErrorCode(.oauthTimeout), detail: "Timed out. Please re-authenticate.", attr: "oauth-key")
        } catch let error as OAuthCacheUnavailable {
            throw Self.cacheUnavailable(error)
        }
    }

    /// Removes a used key's entry after the write that used it committed; a failure here only
    /// leaves the entry to its TTL.
    func discardOAuthEntry(_ used: OAuthKeyUse?, context: APIRequestContext) async {
        guard let used else { return }
        do {
            try await oauth.cache.remove(used.key, ifSealed: used.sealed)
        } catch {
            context.logger.warning("oauth cache entry left to expire", metadata: ["error.type": "\(type(of: error))"])
        }
    }
}

/// The small page a login popup ends on when no `--oauth-status-url` is configured: it says how
/// the flow ended, tells the opener window (`postMessage` and a `localStorage` entry, as
/// Unstract's `OAuthStatus` does) and closes itself on success.
enum OAuthStatusPage {
    static let script = """
        const page = document.getElementById("oauth-status");
        const message = {type: "oauth-status", status: page.dataset.status, reason: page.dataset.reason || null};
        try { localStorage.setItem("oauth-status", JSON.stringify(Object.assign({at: Date.now()}, message))); } catch (e) {}
        if (window.opener) { window.opener.postMessage(message, "*"); }
        if (message.status === "success" && window.opener) { setTimeout(function () { window.close(); }, 1500); }
        """
    static let scriptHash = "sha256-" + Data(SHA256.hash(data: Data(script.utf8))).base64EncodedString()

    static func response(_ query: FlatDictionary<Substring, Substring>) -> Response {
        let succeeded = query.get("status") == "success"
        let reason = query.get("reason").flatMap(Self.reasonCode)
        let (title, text) = succeeded ? ("Connected", "Authorization succeeded. You can close this window.") : ("Not connected", explain(reason))
        let html = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>\(title) · Connector Engine</title>
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <style>
            body { font: 16px/1.5 system-ui, sans-serif; margin: 0; display: flex; min-height: 100vh; align-items: center; justify-content: center; background: #f5f6f8; color: #1d2330; }
            main { background: #fff; border-radius: 10px; box-shadow: 0 2px 12px rgba(0,0,0,.08); padding: 32px 40px; max-width: 420px; text-align: center; }
            h1 { font-size: 22px; margin: 0 0 8px; }
            .success h1 { color: #1a7f37; } .error h1 { color: #b42318; }
            code { background: #f0f1f4; padding: 1px 5px; border-radius: 4px; }
            </style></head>
            <body><main id="oauth-status" class="\(succeeded ? "success" : "error")" data-status="\(succeeded ? "success" : "error")" data-reason="\(reason ?? "")">
            <h1>\(title)</h1><p>\(text)</p>\(reason.map { "<p><code>\($0)</code></p>" } ?? "")
            </main><script>\(script)</script></body></html>
            """
        return Response(
            status: .ok,
            headers: [
                .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
                HTTPField.Name("Content-Security-Policy")!: "default-src 'none'; style-src 'unsafe-inline'; script-src '\(scriptHash)'",
                HTTPField.Name("Referrer-Policy")!: "no-referrer", HTTPField.Name("X-Frame-Options")!: "DENY",
            ],
            body: ResponseBody(byteBuffer: ByteBuffer(string: html)))
    }

    /// A reason as the flow writes it (`exchange_failed:invalid_grant`); anything else is dropped.
    static func reasonCode(_ text: String) -> String? {
        guard text.utf8.count <= 64 else { return nil }
        let allowed = text.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ":")
        }
        return allowed ? text : nil
    }

    /// The reason codes in words (the page never shows provider text).
    static func explain(_ reason: String?) -> String {
        switch reason?.split(separator: ":").first.map(String.init) {
        case "exchange_failed" where reason == "exchange_failed:invalid_client" || reason == "exchange_failed:unauthorized_client":
            "The provider refused this server's OAuth client. An administrator must check its client id and secret."
        case "access_denied": "You declined access at the provider, so no tokens were issued."
        case "invalid_state": "This sign-in was already completed, has expired, or did not start here. Start again from the connector form."
        case "invalid_key", "expired_key": "The sign-in session expired or is unknown. Start again from the connector form."
        case "exchange_failed": "The provider refused to issue tokens for this sign-in. Start again."
        case "provider_unreachable": "The provider could not be reached. Try again shortly."
        case "cache_unavailable": "The server's token cache is unavailable. Try again shortly."
        case "unknown_backend": "This provider is not configured on the server."
        default: "The provider's answer was incomplete. Start again."
        }
    }
}
