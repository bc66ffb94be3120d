import CloudAuth
import ConnectorCore
import CurlDriver
import Foundation
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
        return ProbePlan(host: tokenHost.host, hostAttr: "json_credentials", otherHosts: [(apiHost.host, call.resourceAttr)], driver: "libcurl") {
            _ in
            HTTPProbe(
                machine: GoogleProbeMachine(account: account, tokenURL: tokenURL, call: call, caFile: endpoints.caFile),
                sharedToken: (tokens, key))
        }
    }
}

/// A service-account token, then the service call. The token comes from the shared cache when
/// another probe of the same account has one (or is fetching it: the shell waits); otherwise this
/// probe fetches it with an RS256 assertion and publishes it to the others.
struct GoogleProbeMachine: HTTPProbeMachine {
    let account: GoogleServiceAccount
    let tokenURL: String
    let call: GoogleCall
    let caFile: String?
    /// The assertion's issue time.
    var now: @Sendable () -> Date = { Date() }
    private var fetchingToken = false

    init(account: GoogleServiceAccount, tokenURL: String, call: GoogleCall, caFile: String?, now: @escaping @Sendable () -> Date = { Date() }) {
        self.account = account
        self.tokenURL = tokenURL
        self.call = call
        self.caFile = caFile
        self.now = now
    }

    func start() -> HTTPStep { .claimToken }

    mutating func tokenClaimed(_ claim: TokenClaim) -> HTTPStep {
        switch claim {
        case .token(let token):
            return serviceCall(token)
        case .fetch:
            guard let assertion = try? ServiceAccountAssertion.make(account: account, scope: call.scope, audience: tokenURL, now: now()) else {
                return .finish(ProbeOutcome(.protocolError, attr: "json_credentials"))
            }
            fetchingToken = true
            let form = PercentEncoding.form([("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", assertion)])
            return .send(
                HTTPCall(
                    method: "POST", url: tokenURL, headers: [("Content-Type", "application/x-www-form-urlencoded")], body: Array(form.utf8),
                    caFile: caFile, stage: .auth))
        }
    }

    mutating func received(_ result: HTTPResult) -> HTTPStep {
        guard fetchingToken else { return .finish(GoogleClassifier.call(result, resourceAttr: call.resourceAttr)) }
        fetchingToken = false
        switch OAuthToken.read(result) {
        case .success(let grant):
            return .effect(.publishToken(grant.token, expiresIn: grant.expiresIn), then: serviceCall(grant.token))
        case .failure(let failure):
            return .finish(failure.outcome)
        }
    }

    private func serviceCall(_ token: String) -> HTTPStep {
        var headers: [(name: String, value: String)] = [("Authorization", "Bearer \(token)")]
        if !call.body.isEmpty { headers.append(("Content-Type", "application/json")) }
        return .send(HTTPCall(method: call.method, url: call.url, headers: headers, body: call.body, caFile: caFile, stage: .request))
    }
}
