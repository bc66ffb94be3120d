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

/// Calls a bearer-token API; if the token has expired and the connector can refresh it, refreshes
/// once and calls again. Each request is one libcurl transfer on the reactor.
final class BearerProbe: Probe {
    private enum Phase {
        case calling
        case refreshing
    }

    private let service: BearerService
    private let accessToken: String
    private let exchange = HTTPExchange()
    private var phase = Phase.calling
    private var refreshed = false

    init(service: BearerService, accessToken: String) {
        self.service = service
        self.accessToken = accessToken
    }

    func start(_ context: ProbeContext) -> ProbeStep {
        exchange.reportExpiries(to: context)
        if let expiresAt = service.refreshTokenExpiresAt {
            context.recordExpiry(.refreshTokenExpires, at: expiresAt, attr: "refresh_token")
        }
        return accessToken.isEmpty || service.refresh?.first == true ? refresh(context) : call(token: accessToken, context: context)
    }

    func resume(_ context: ProbeContext, events: IOEvents) -> ProbeStep {
        // The stage moves on once the socket is connected, so a dead endpoint times out in `connect`.
        if let fd = exchange.descriptor, SocketState.peerAddress(fd) != nil { context.enter(phase == .calling ? .request : .auth) }
        return advance(exchange.resume(events: events), context: context)
    }

    func close() { exchange.close() }

    private func call(token: String, context: ProbeContext) -> ProbeStep {
        phase = .calling
        let request = service.call(token)
        guard let host = HTTPTransfer.hostAndPort(request.url)?.host, let address = context.address(for: host) else {
            return .finished(ProbeOutcome(.protocolError))
        }
        return advance(
            exchange.start(
                HTTPRequestSpec(
                    method: request.method, url: request.url, headers: request.headers, body: request.body, address: address,
                    caFile: service.caFile)),
            context: context)
    }

    private func refresh(_ context: ProbeContext) -> ProbeStep {
        phase = .refreshing
        refreshed = true
        guard let refresh = service.refresh else {
            return .finished(
                ProbeOutcome(.authFailed, attr: "access_token", detail: "The access token was refused and nothing can refresh it.", stage: .auth))
        }
        guard let host = HTTPTransfer.hostAndPort(refresh.url)?.host, let address = context.address(for: host) else {
            return .finished(ProbeOutcome(.protocolError))
        }
        let form = PercentEncoding.form(refresh.form)
        return advance(
            exchange.start(
                HTTPRequestSpec(
                    method: "POST", url: refresh.url, headers: [("Content-Type", "application/x-www-form-urlencoded")],
                    body: Array(form.utf8), address: address, caFile: service.caFile)),
            context: context)
    }

    private func advance(_ step: HTTPExchange.Step, context: ProbeContext) -> ProbeStep {
        switch step {
        case .wait(let wait):
            return wait
        case .failed(let outcome):
            return .finished(outcome)
        case .done(let result):
            switch phase {
            case .calling:
                if !refreshed, service.refresh != nil, service.tokenExpired(result) { return refresh(context) }
                return .finished(service.classifyCall(result, refreshed))
            case .refreshing:
                switch service.classifyRefresh(result) {
                case .success(let token):
                    if let grant = try? JSONValue.parse(result.body),
                        let tokens = OAuthTokenSet(grant: grant, issuedAt: Date(), keeping: service.refresh?.tokens)
                    {
                        context.recordRefreshedTokens(tokens)
                    }
                    return call(token: token, context: context)
                case .failure(let failure): return .finished(failure.outcome)
                }
            }
        }
    }
}
