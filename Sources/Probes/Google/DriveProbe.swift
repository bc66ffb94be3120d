import ConnectorCore
import CurlDriver
import Foundation
import LinuxIO
import ProbeEngine

/// Plans Google Drive probes: the connector's OAuth access token against `about?fields=user`,
/// refreshed once with its refresh token (and the platform's OAuth client) when Google says it
/// expired.
struct DriveProbeDriver: ProbeDriver {
    let endpoints: GoogleEndpoints

    func plan(for type: ConnectorType, metadata: JSONValue) throws(MetadataError) -> ProbePlan {
        guard case .object(let members) = metadata else {
            throw MetadataError(attr: "connector_metadata", "connector_metadata must be a JSON object.")
        }
        let accessToken = members["access_token"]?.stringValue ?? ""
        let refreshToken = members["refresh_token"]?.stringValue ?? ""
        guard !accessToken.isEmpty || !refreshToken.isEmpty else {
            throw MetadataError(attr: "access_token", "The connector has no OAuth tokens yet: sign in with Google first.")
        }
        let aboutURL = "\(endpoints.driveURL)/drive/v3/about?fields=user"
        guard let apiHost = HTTPTransfer.hostAndPort(aboutURL), let tokenHost = HTTPTransfer.hostAndPort(endpoints.tokenURL) else {
            throw MetadataError(attr: "access_token", "The configured Google endpoints are not URLs.")
        }
        let endpoints = self.endpoints
        return ProbePlan(host: apiHost.host, hostAttr: "access_token", otherHosts: [(tokenHost.host, "refresh_token")]) { _ in
            DriveProbe(accessToken: accessToken, refreshToken: refreshToken, aboutURL: aboutURL, endpoints: endpoints)
        }
    }
}

final class DriveProbe: Probe {
    private enum Phase {
        case calling
        case refreshing
    }

    private let accessToken: String
    private let refreshToken: String
    private let aboutURL: String
    private let endpoints: GoogleEndpoints
    private let exchange = HTTPExchange()
    private var phase = Phase.calling
    private var refreshed = false

    init(accessToken: String, refreshToken: String, aboutURL: String, endpoints: GoogleEndpoints) {
        self.accessToken = accessToken
        self.refreshToken = refreshToken
        self.aboutURL = aboutURL
        self.endpoints = endpoints
    }

    func start(_ context: ProbeContext) -> ProbeStep {
        accessToken.isEmpty ? refresh(context) : callAbout(token: accessToken, context: context)
    }

    func resume(_ context: ProbeContext, events: IOEvents) -> ProbeStep {
        advance(exchange.resume(events: events), context: context)
    }

    func close() { exchange.close() }

    private func callAbout(token: String, context: ProbeContext) -> ProbeStep {
        phase = .calling
        context.enter(.request)
        guard let host = HTTPTransfer.hostAndPort(aboutURL)?.host, let address = context.address(for: host) else {
            return .finished(ProbeOutcome(.protocolError))
        }
        return advance(
            exchange.start(
                HTTPRequestSpec(
                    method: "GET", url: aboutURL, headers: [("Authorization", "Bearer \(token)")], address: address,
                    caFile: endpoints.caFile)),
            context: context)
    }

    private func refresh(_ context: ProbeContext) -> ProbeStep {
        phase = .refreshing
        refreshed = true
        context.enter(.auth)
        guard let client = endpoints.oauthClient else {
            return .finished(
                ProbeOutcome(.authFailed, attr: "access_token", detail: "The access token was refused and no OAuth client is configured to refresh it."))
        }
        guard !refreshToken.isEmpty else {
            return .finished(ProbeOutcome(.authFailed, attr: "refresh_token", detail: "There is no refresh token."))
        }
        guard let host = HTTPTransfer.hostAndPort(endpoints.tokenURL)?.host, let address = context.address(for: host) else {
            return .finished(ProbeOutcome(.protocolError))
        }
        let form = [("grant_type", "refresh_token"), ("refresh_token", refreshToken), ("client_id", client.id), ("client_secret", client.secret)]
            .map { "\($0.0)=\(GoogleProbeDriver.escape($0.1))" }.joined(separator: "&")
        return advance(
            exchange.start(
                HTTPRequestSpec(
                    method: "POST", url: endpoints.tokenURL, headers: [("Content-Type", "application/x-www-form-urlencoded")],
                    body: Array(form.utf8), address: address, caFile: endpoints.caFile)),
            context: context)
    }

    private func advance(_ step: HTTPExchange.Step, context: ProbeContext) -> ProbeStep {
        switch step {
        case .wait(let wait): return wait
        case .failed(let outcome): return .finished(outcome)
        case .done(let result):
            switch phase {
            case .calling:
                // An expired or revoked access token: one refresh, when there is something to refresh with.
                if result.succeeded, result.status == 401, !refreshed, !refreshToken.isEmpty, endpoints.oauthClient != nil {
                    return refresh(context)
                }
                var outcome = GoogleClassifier.call(result, resourceAttr: "access_token")
                if outcome.code == .authFailed { outcome.attr = refreshed ? "refresh_token" : "access_token" }
                return .finished(outcome)
            case .refreshing:
                switch GoogleClassifier.token(result) {
                case .success(let grant):
                    return callAbout(token: grant.token, context: context)
                case .failure(let failure):
                    var outcome = failure.outcome
                    if outcome.code == .authFailed { outcome.attr = "refresh_token" }
                    return .finished(outcome)
                }
            }
        }
    }
}
