import ConnectorCore
import CurlDriver
import ProbeEngine

/// Where the Dropbox probe sends its requests (configuration; tests point it at a local fake).
public struct DropboxEndpoints: Sendable {
    public var apiURL: String
    public var tokenURL: String
    public var caFile: String?
    /// The platform's Dropbox app, which refreshes tokens obtained through its sign-in flow (a
    /// connector that names its own app key uses that instead).
    public var oauthClient: (id: String, secret: String)?

    public init(
        apiURL: String = "https://api.dropboxapi.com", tokenURL: String? = nil, caFile: String? = nil,
        oauthClient: (id: String, secret: String)? = nil
    ) {
        self.apiURL = apiURL
        self.tokenURL = tokenURL ?? apiURL + "/oauth2/token"
        self.caFile = caFile
        self.oauthClient = oauthClient
    }

    public static let dropbox = DropboxEndpoints()
}

/// Plans Dropbox probes: `users/get_current_account` with the access token; an expired or
/// invalid token is refreshed once when a refresh token and the app key are given.
struct DropboxProbeDriver: BearerProbeDriver {
    let endpoints: DropboxEndpoints

    let tokenAttr = "token"

    func prepare(members: [String: JSONValue]) throws(MetadataError) -> (machine: BearerProbeMachine, apiHost: String, tokenHost: String) {
        // A pasted token, or one from the sign-in flow (`access_token`, refreshed with the platform's app).
        let pasted = members["token"]?.stringValue ?? ""
        let token = pasted.isEmpty ? members["access_token"]?.stringValue ?? "" : pasted
        let refreshToken = members["refresh_token"]?.stringValue ?? ""
        var appKey = members["app_key"]?.stringValue ?? ""
        var appSecret = members["app_secret"]?.stringValue ?? ""
        guard !token.isEmpty || !refreshToken.isEmpty else {
            throw MetadataError(attr: "token", "token is empty: paste an access token or sign in with Dropbox.")
        }
        if !refreshToken.isEmpty && appKey.isEmpty {
            guard let platform = endpoints.oauthClient else {
                throw MetadataError(attr: "app_key", "A refresh token needs the app key of the Dropbox app that issued it.")
            }
            (appKey, appSecret) = platform
        }
        let accountURL = "\(endpoints.apiURL)/2/users/get_current_account"
        guard let apiHost = HTTPTransfer.hostAndPort(accountURL), let tokenHost = HTTPTransfer.hostAndPort(endpoints.tokenURL) else {
            throw MetadataError(attr: "token", "The configured Dropbox endpoints are not URLs.")
        }
        var refresh: BearerRefresh?
        if !refreshToken.isEmpty {
            var form = [("grant_type", "refresh_token"), ("refresh_token", refreshToken), ("client_id", appKey)]
            if !appSecret.isEmpty { form.append(("client_secret", appSecret)) }
            let tokens = OAuthTokenSet(metadata: .object(members))
            refresh = BearerRefresh(url: endpoints.tokenURL, form: form, tokens: tokens, first: tokens.hasExpired())
        }
        let secretAttr = appSecret.isEmpty ? "app_key" : "app_secret"
        let service = BearerService(
            call: { token in
                ("POST", accountURL, [("Authorization", "Bearer \(token)"), ("Content-Type", "application/json")], Array("null".utf8))
            },
            tokenExpired: { result in
                result.succeeded && result.status == 401
                    && ["expired_access_token", "invalid_access_token"].contains(DropboxClassifier.tag(result))
            },
            classifyCall: { result, refreshed in DropboxClassifier.call(result, tokenAttr: refreshed ? "refresh_token" : "token") },
            refresh: refresh,
            classifyRefresh: { result in
                OAuthToken.read(result).map(\.token).mapError { failure in
                    var outcome = failure.outcome
                    if outcome.code == .authFailed {
                        let client = outcome.signal?.hasPrefix("OAuth invalid_client") == true
                        outcome.attr = client ? secretAttr : "refresh_token"
                        outcome.detail =
                            client ? "Dropbox refused the app's key or secret." : "Dropbox refused the refresh token: it was revoked or has expired."
                        if !client { outcome.hint = "Re-authorize: sign in with Dropbox again." }
                    }
                    return OAuthToken.Failure(outcome: outcome)
                }
            },
            caFile: endpoints.caFile)
        return (BearerProbeMachine(service: service, accessToken: token), apiHost.host, tokenHost.host)
    }
}

/// Reads Dropbox answers from the status and the error's `.tag` (never the summary text).
enum DropboxClassifier {
    /// The `.tag` of a JSON error body, e.g. `expired_access_token`.
    static func tag(_ result: HTTPResult) -> String? {
        (try? JSONValue.parse(result.body))?["error"]?[".tag"]?.stringValue
    }

    static func call(_ result: HTTPResult, tokenAttr: String) -> ProbeOutcome {
        guard result.succeeded else { return HTTPFailure.transport(result, attr: "token") }
        if result.status == 200 { return .ok }
        let tag = tag(result)
        let signal = "Dropbox \(tag ?? "-") (HTTP \(result.status))"
        switch (result.status, tag) {
        case (401, "missing_scope"?), (401, "route_access_denied"?), (401, "user_suspended"?), (403, _):
            return ProbeOutcome(.permissionDenied, attr: "token", detail: "The token may not read the account.", signal: signal, stage: .request)
        case (401, _), (400, _):
            // Our request is fixed, so a 400 (plain text) means the token itself is malformed.
            return ProbeOutcome(.authFailed, attr: tokenAttr, detail: "Dropbox refused the access token.", signal: signal, stage: .request)
        case (429, _):
            return ProbeOutcome(.throttled, signal: signal, stage: .request)
        case (500...599, _):
            return ProbeOutcome(.serverError, signal: signal, stage: .request)
        default:
            return ProbeOutcome(.protocolError, signal: signal, stage: .request)
        }
    }
}
