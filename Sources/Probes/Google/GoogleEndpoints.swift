import CurlDriver
import Foundation

/// Where the Google probes send their requests. Configuration, never user metadata: tests point
/// these at local fakes. A key file's own `token_uri` is used only when it is in `allowedTokenURLs`.
public struct GoogleEndpoints: Sendable {
    public var tokenURL: String
    public var storageURL: String
    public var bigQueryURL: String
    public var driveURL: String
    /// The platform's OAuth client, used to refresh a Drive connector's access token once.
    public var oauthClient: (id: String, secret: String)?
    public var allowedTokenURLs: Set<String>
    /// PEM bundle to verify these endpoints with (self-hosted or test endpoints); nil: the system's.
    public var caFile: String?
    /// How long Google honours a refresh token of the platform's OAuth client, in seconds: 7 days
    /// while its consent screen is in testing; nil (a published app) for no age limit.
    public var refreshTokenMaxAge: TimeInterval?

    public init(
        tokenURL: String = "https://oauth2.googleapis.com/token", storageURL: String = "https://storage.googleapis.com",
        bigQueryURL: String = "https://bigquery.googleapis.com", driveURL: String = "https://www.googleapis.com",
        oauthClient: (id: String, secret: String)? = nil, allowedTokenURLs: Set<String> = [], caFile: String? = nil,
        refreshTokenMaxAge: TimeInterval? = nil
    ) {
        self.tokenURL = tokenURL
        self.storageURL = storageURL
        self.bigQueryURL = bigQueryURL
        self.driveURL = driveURL
        self.oauthClient = oauthClient
        self.allowedTokenURLs = allowedTokenURLs.union([tokenURL])
        self.caFile = caFile
        self.refreshTokenMaxAge = refreshTokenMaxAge
    }

    public static let google = GoogleEndpoints()

    /// The token endpoint for a key file: its own only when allowed, else the configured one.
    func tokenURL(for keyFileURI: String?) -> String {
        guard let keyFileURI, allowedTokenURLs.contains(keyFileURI) else { return tokenURL }
        return keyFileURI
    }
}
