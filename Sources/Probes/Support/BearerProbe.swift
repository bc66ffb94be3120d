import ConnectorCore
import CurlDriver
import Foundation
import LinuxIO
import ProbeEngine

/// How one OAuth-bearer service is probed: the call that proves access, when an answer means
/// the access token expired, and how to refresh it. Drive and Dropbox are instances.
struct BearerService: Sendable {
    /// The request that proves access with an access token.
    var call: @Sendable (_ token: String) -> (method: String, url: String, headers: [(name: String, value: String)], body: [UInt8])
    /// Whether an answer to the call says the access token is no longer good (so a refresh may help).
    var tokenExpired: @Sendable (HTTPResult) -> Bool
    /// The verdict of the call's answer; `refreshed` tells whether the token came from a refresh.
    var classifyCall: @Sendable (HTTPResult, _ refreshed: Bool) -> ProbeOutcome
    /// The refresh request (`nil` when there is nothing to refresh with).
    var refresh: BearerRefresh?
    /// The new access token from a refresh answer, or the verdict.
    var classifyRefresh: @Sendable (HTTPResult) -> Result<String, OAuthToken.Failure>
    var caFile: String?
    /// When the stored refresh token reaches its provider's age limit, where one is known: a warning.
    var refreshTokenExpiresAt: Date?
}

/// The refresh-token grant of a bearer service (RFC 6749 §6).
struct BearerRefresh: Sendable {
    var url: String
    var form: [(String, String)]
    /// The stored tokens: their refresh token is sent, and kept (with its age) in the new token
    /// set when the answer brings none.
    var tokens: OAuthTokenSet
    /// Refresh before the first call: the stored access token is known to have expired.
    var first: Bool
}

/// The driver of a bearer-token service (Drive, Dropbox): it prepares the machine from the
/// metadata; the plan around it is the same for every such service.
protocol BearerProbeDriver: ProbeDriver {
    /// The field a refused or unreachable API blames.
    var tokenAttr: String { get }
    /// The machine of a probe of these metadata members, and the hosts it calls.
    func prepare(members: [String: JSONValue]) throws(MetadataError) -> (machine: BearerProbeMachine, apiHost: String, tokenHost: String)
}

extension BearerProbeDriver {
    func plan(for type: ConnectorType, metadata: JSONValue, tenant: String) throws(MetadataError) -> ProbePlan {
        let (machine, apiHost, tokenHost) = try prepare(metadata)
        return ProbePlan(host: apiHost, hostAttr: tokenAttr, otherHosts: [(tokenHost, "refresh_token")], driver: "libcurl") { _ in
            HTTPProbe(machine: machine)
        }
    }

    /// The machine of a probe of `metadata`, and the hosts it calls.
    func prepare(_ metadata: JSONValue) throws(MetadataError) -> (machine: BearerProbeMachine, apiHost: String, tokenHost: String) {
        guard case .object(let members) = metadata else {
            throw MetadataError(attr: "connector_metadata", "connector_metadata must be a JSON object.")
        }
        return try prepare(members: members)
    }
}

/// Calls a bearer-token API; if the token has expired and the connector can refresh it, refreshes
/// once and calls again, handing the refreshed tokens to the report.
struct BearerProbeMachine: HTTPProbeMachine {
    let service: BearerService
    let accessToken: String
    private var refreshing = false
    private var refreshed = false

    init(service: BearerService, accessToken: String) {
        self.service = service
        self.accessToken = accessToken
    }

    mutating func start() -> HTTPStep {
        let first = accessToken.isEmpty || service.refresh?.first == true ? refresh() : call(token: accessToken)
        guard let expiresAt = service.refreshTokenExpiresAt else { return first }
        return .effect(.expiry(.refreshTokenExpires, at: expiresAt, attr: "refresh_token"), then: first)
    }

    mutating func received(_ result: HTTPResult) -> HTTPStep {
        guard refreshing else {
            if !refreshed, service.refresh != nil, service.tokenExpired(result) { return refresh() }
            return .finish(service.classifyCall(result, refreshed))
        }
        refreshing = false
        switch service.classifyRefresh(result) {
        case .success(let token):
            let next = call(token: token)
            guard let grant = try? JSONValue.parse(result.body),
                let tokens = OAuthTokenSet(grant: grant, issuedAt: Date(), keeping: service.refresh?.tokens)
            else { return next }
            return .effect(.refreshedTokens(tokens), then: next)
        case .failure(let failure):
            return .finish(failure.outcome)
        }
    }

    private func call(token: String) -> HTTPStep {
        let request = service.call(token)
        return .send(
            HTTPCall(
                method: request.method, url: request.url, headers: request.headers, body: request.body, caFile: service.caFile,
                stage: .request))
    }

    private mutating func refresh() -> HTTPStep {
        refreshing = true
        refreshed = true
        guard let refresh = service.refresh else {
            return .finish(
                ProbeOutcome(.authFailed, attr: "access_token", detail: "The access token was refused and nothing can refresh it.", stage: .auth))
        }
        return .send(
            HTTPCall(
                method: "POST", url: refresh.url, headers: [("Content-Type", "application/x-www-form-urlencoded")],
                body: Array(PercentEncoding.form(refresh.form).utf8), caFile: service.caFile, stage: .auth))
    }
}
