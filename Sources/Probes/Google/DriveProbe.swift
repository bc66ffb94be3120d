import ConnectorCore
import CurlDriver
import Foundation
import LinuxIO
import ProbeEngine

/// Plans Google Drive probes: the connector's OAuth access token against `about?fields=user`,
/// refreshed once with its refresh token (and the platform's OAuth client) when Google says it
/// is no longer good.
struct DriveProbeDriver: BearerProbeDriver {
    let endpoints: GoogleEndpoints

    let tokenAttr = "access_token"

    func prepare(members: [String: JSONValue]) throws(MetadataError) -> (machine: BearerProbeMachine, apiHost: String, tokenHost: String) {
        let accessToken = members["access_token"]?.stringValue ?? ""
        let refreshToken = members["refresh_token"]?.stringValue ?? ""
        guard !accessToken.isEmpty || !refreshToken.isEmpty else {
            throw MetadataError(attr: "access_token", "The connector has no OAuth tokens yet: sign in with Google first.")
        }
        let aboutURL = "\(endpoints.driveURL)/drive/v3/about?fields=user"
        guard let apiHost = HTTPTransfer.hostAndPort(aboutURL), let tokenHost = HTTPTransfer.hostAndPort(endpoints.tokenURL) else {
            throw MetadataError(attr: "access_token", "The configured Google endpoints are not URLs.")
        }
        let tokens = OAuthTokenSet(metadata: .object(members))
        var refresh: BearerRefresh?
        if !refreshToken.isEmpty, let client = endpoints.oauthClient {
            refresh = BearerRefresh(
                url: endpoints.tokenURL,
                form: [
                    ("grant_type", "refresh_token"), ("refresh_token", refreshToken), ("client_id", client.id),
                    ("client_secret", client.secret),
                ],
                tokens: tokens, first: tokens.hasExpired())
        }
        let service = BearerService(
            call: { token in ("GET", aboutURL, [("Authorization", "Bearer \(token)")], []) },
            tokenExpired: { $0.succeeded && $0.status == 401 },
            classifyCall: { result, refreshed in
                var outcome = GoogleClassifier.call(result, resourceAttr: "access_token")
                if outcome.code == .authFailed { outcome.attr = refreshed ? "refresh_token" : "access_token" }
                return outcome
            },
            refresh: refresh,
            classifyRefresh: { result in
                OAuthToken.read(result).map(\.token).mapError { failure in
                    var outcome = failure.outcome
                    if outcome.code == .authFailed {
                        outcome.attr = "refresh_token"
                        outcome.detail = "Google refused the refresh token: it was revoked or has expired."
                        outcome.hint = "Re-authorize: sign in with Google again."
                    }
                    return OAuthToken.Failure(outcome: outcome)
                }
            },
            caFile: endpoints.caFile,
            refreshTokenExpiresAt: refreshToken.isEmpty
                ? nil : endpoints.refreshTokenMaxAge.flatMap { age in tokens.refreshTokenIssuedAt.map { $0 + age } })
        return (BearerProbeMachine(service: service, accessToken: accessToken), apiHost.host, tokenHost.host)
    }
}
