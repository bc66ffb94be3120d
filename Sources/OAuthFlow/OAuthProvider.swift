import ConnectorCore

/// An OAuth backend the engine can run the authorization-code flow for (DESIGN §5), with the
/// python-social-auth name the catalog and the cache keys use.
public enum OAuthBackend: String, Sendable, CaseIterable {
    case google = "google-oauth2"
    case dropbox = "dropbox-oauth2"

    /// The scopes asked for: Drive and the user's profile for Google (as Unstract asks); Dropbox
    /// scopes come from the app's settings.
    public var scopes: [String] {
        switch self {
        case .google: ["https://www.googleapis.com/auth/drive", "https://www.googleapis.com/auth/userinfo.profile"]
        case .dropbox: []
        }
    }

    /// Parameters that make the provider return a refresh token.
    var offlineParameters: [(String, String)] {
        switch self {
        case .google: [("access_type", "offline"), ("prompt", "consent"), ("include_granted_scopes", "true")]
        case .dropbox: [("token_access_type", "offline")]
        }
    }
}

/// Where a provider's endpoints are and which client the engine is registered as. Configuration,
/// never user metadata: tests point the endpoints at a local fake provider.
public struct OAuthProvider: Sendable {
    public var backend: OAuthBackend
    public var authorizeURL: String
    public var tokenURL: String
    public var clientID: String
    public var clientSecret: String

    public init(backend: OAuthBackend, authorizeURL: String, tokenURL: String, clientID: String, clientSecret: String) {
        self.backend = backend
        self.authorizeURL = authorizeURL
        self.tokenURL = tokenURL
        self.clientID = clientID
        self.clientSecret = clientSecret
    }

    /// The provider's own endpoints for `backend`.
    public static func standard(_ backend: OAuthBackend, clientID: String, clientSecret: String) -> OAuthProvider {
        switch backend {
        case .google:
            OAuthProvider(
                backend: backend, authorizeURL: "https://accounts.google.com/o/oauth2/v2/auth",
                tokenURL: "https://oauth2.googleapis.com/token", clientID: clientID, clientSecret: clientSecret)
        case .dropbox:
            OAuthProvider(
                backend: backend, authorizeURL: "https://www.dropbox.com/oauth2/authorize",
                tokenURL: "https://api.dropboxapi.com/oauth2/token", clientID: clientID, clientSecret: clientSecret)
        }
    }

    /// The consent-screen URL the login route redirects a browser to: authorization code with
    /// PKCE S256, the flow's single-use `state`, the backend's scopes and offline access.
    public func authorizationURL(redirectURI: String, state: String, pkce: PKCE) -> String {
        var fields: [(String, String)] = [
            ("client_id", clientID), ("redirect_uri", redirectURI), ("response_type", "code"), ("state", state),
            ("code_challenge", pkce.challenge), ("code_challenge_method", "S256"),
        ]
        if !backend.scopes.isEmpty { fields.append(("scope", backend.scopes.joined(separator: " "))) }
        fields += backend.offlineParameters
        return authorizeURL + (authorizeURL.contains("?") ? "&" : "?") + PercentEncoding.form(fields)
    }
}
