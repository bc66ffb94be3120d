import ConnectorCore
import CurlDriver
import Foundation
import CloudAuth
import LinuxIO
import ProbeEngine

/// The service call a Google probe makes once it holds a token, and how to read its answer.
struct GoogleCall: Sendable {
    var scope: String
    var method: String
    var url: String
    var body: [UInt8]
    /// The metadata field to blame when the resource is missing or forbidden.
    var resourceAttr: String
}

/// Plans GCS and BigQuery probes: a service-account token (from the shared cache, or fetched with
/// an RS256 assertion), then the cheapest call that proves access.
struct GoogleProbeDriver: ProbeDriver {
    let endpoints: GoogleEndpoints
    let tokens: TokenCache

    func plan(for type: ConnectorType, metadata: JSONValue, tenant: String) throws(MetadataError) -> ProbePlan {
        let settings = try GoogleSettings(metadata: metadata)
        let account = settings.account
        guard let keyDigest = try? RS256JWT.publicKeyDigest(privateKeyPEM: account.privateKeyPEM) else {
            throw MetadataError(attr: "json_credentials", "The private_key of json_credentials is not a usable RSA key.")
        }
        let call: GoogleCall
        switch type.family {
        case .gcs:
            let project = settings.projectID ?? ""
            if let bucket = settings.bucket {
                call = GoogleCall(
                    scope: "https://www.googleapis.com/auth/devstorage.read_only", method: "GET",
                    url: "\(endpoints.storageURL)/storage/v1/b/\(PercentEncoding.encode(bucket))?fields=name", body: [], resourceAttr: "bucket")
            } else {
                guard !project.isEmpty else { throw MetadataError(attr: "project_id", "project_id is required to list buckets.") }
                call = GoogleCall(
                    scope: "https://www.googleapis.com/auth/devstorage.read_only", method: "GET",
                    url: "\(endpoints.storageURL)/storage/v1/b?project=\(PercentEncoding.encode(project))&maxResults=1&fields=items/name", body: [],
                    resourceAttr: "project_id")
            }
        default:
            guard let project = settings.projectID else {
                throw MetadataError(attr: "json_credentials", "json_credentials has no project_id.")
            }
            let job: JSONValue = ["configuration": ["dryRun": true, "query": ["query": "SELECT 1", "useLegacySql": false]]]
            call = GoogleCall(
                scope: "https://www.googleapis.com/auth/bigquery", method: "POST",
                url: "\(endpoints.bigQueryURL)/bigquery/v2/projects/\(PercentEncoding.encode(project))/jobs", body: job.serialized(),
                resourceAttr: "json_credentials")
        }
        let tokenURL = endpoints.tokenURL(for: account.tokenURI)
        guard let tokenHost = HTTPTransfer.hostAndPort(tokenURL), let apiHost = HTTPTransfer.hostAndPort(call.url) else {
            throw MetadataError(attr: "json_credentials", "The configured Google endpoints are not URLs.")
        }
        let endpoints = self.endpoints
        let tokens = self.tokens
        let key = TokenCache.Key(
            account: account.clientEmail, keyID: account.privateKeyID ?? "", publicKeyDigest: keyDigest, tenant: tenant,
            scope: call.scope, tokenURL: tokenURL)
        return ProbePlan(host: tokenHost.host, hostAttr: "json_credentials", otherHosts: [(apiHost.host, call.resourceAttr)]) { _ in
            GoogleProbe(account: account, tokenURL: tokenURL, call: call, key: key, endpoints: endpoints, tokens: tokens)
        }
    }
}

/// Token, then service call, each one libcurl transfer on the reactor; a token another probe is
/// fetching for the same account is awaited through the cache's eventfd.
final class GoogleProbe: Probe {
    private enum Phase {
        case waitingForToken(WakeupSignal)
        case fetchingToken
        case calling
    }

    private let account: GoogleServiceAccount
    private let tokenURL: String
    private let call: GoogleCall
    private let endpoints: GoogleEndpoints
    private let tokens: TokenCache
    private let key: TokenCache.Key
    private let exchange = HTTPExchange()
    private var phase = Phase.fetchingToken
    /// This probe owes the cache a `finish` for the fetch it claimed.
    private var fetching = false

    init(account: GoogleServiceAccount, tokenURL: String, call: GoogleCall, key: TokenCache.Key, endpoints: GoogleEndpoints, tokens: TokenCache) {
        self.account = account
        self.tokenURL = tokenURL
        self.call = call
        self.key = key
        self.endpoints = endpoints
        self.tokens = tokens
    }

    func start(_ context: ProbeContext) -> ProbeStep {
        exchange.reportExpiries(to: context)
        return claimToken(context)
    }

    func resume(_ context: ProbeContext, events: IOEvents) -> ProbeStep {
        if case .waitingForToken(let signal) = phase {
            signal.drain()
            return claimToken(context)
        }
        if case .fetchingToken = phase, let fd = exchange.descriptor, SocketState.peerAddress(fd) != nil { context.enter(.auth) }
        return advance(exchange.resume(events: events), context: context)
    }

    func close() {
        exchange.close()
        // A probe that dies mid-fetch must not leave others waiting for its token.
        finishFetch(token: nil, expiresIn: 0)
    }

    private func finishFetch(token: String?, expiresIn: Int) {
        guard fetching else { return }
        fetching = false
        tokens.finish(key, token: token, expiresIn: expiresIn)
    }

    private func claimToken(_ context: ProbeContext) -> ProbeStep {
        switch tokens.claim(key) {
        case .token(let token):
            return startCall(token: token, context: context)
        case .wait(let signal):
            phase = .waitingForToken(signal)
            return .wait(fd: signal.descriptor, events: .readable)
        case .fetch:
            fetching = true
            phase = .fetchingToken
            guard let address = context.address(for: HTTPTransfer.hostAndPort(tokenURL)?.host ?? ""),
                let assertion = try? ServiceAccountAssertion.make(account: account, scope: call.scope, audience: tokenURL)
            else {
                finishFetch(token: nil, expiresIn: 0)
                return .finished(ProbeOutcome(.protocolError, attr: "json_credentials"))
            }
            let form = PercentEncoding.form([("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", assertion)])
            return advance(
                exchange.start(
                    HTTPRequestSpec(
                        method: "POST", url: tokenURL, headers: [("Content-Type", "application/x-www-form-urlencoded")],
                        body: Array(form.utf8), address: address, caFile: endpoints.caFile)),
                context: context)
        }
    }

    private func startCall(token: String, context: ProbeContext) -> ProbeStep {
        phase = .calling
        context.enter(.request)
        guard let host = HTTPTransfer.hostAndPort(call.url)?.host, let address = context.address(for: host) else {
            return .finished(ProbeOutcome(.protocolError))
        }
        var headers: [(name: String, value: String)] = [("Authorization", "Bearer \(token)")]
        if !call.body.isEmpty { headers.append(("Content-Type", "application/json")) }
        return advance(
            exchange.start(
                HTTPRequestSpec(method: call.method, url: call.url, headers: headers, body: call.body, address: address, caFile: endpoints.caFile)),
            context: context)
    }

    private func advance(_ step: HTTPExchange.Step, context: ProbeContext) -> ProbeStep {
        switch step {
        case .wait(let wait):
            return wait
        case .failed(let outcome):
            finishFetch(token: nil, expiresIn: 0)
            return .finished(outcome)
        case .done(let result):
            guard case .fetchingToken = phase else { return .finished(GoogleClassifier.call(result, resourceAttr: call.resourceAttr)) }
            switch OAuthToken.read(result) {
            case .success(let grant):
                finishFetch(token: grant.token, expiresIn: grant.expiresIn)
                return startCall(token: grant.token, context: context)
            case .failure(let failure):
                finishFetch(token: nil, expiresIn: 0)
                return .finished(failure.outcome)
            }
        }
    }
}
