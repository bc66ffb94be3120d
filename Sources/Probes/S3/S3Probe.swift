import ConnectorCore
import CurlDriver
import Foundation
import LinuxIO
import ProbeEngine
import SigV4

/// Plans S3 probes from metadata.
struct S3ProbeDriver: ProbeDriver {
    func plan(for type: ConnectorType, metadata: JSONValue, tenant: String) throws(MetadataError) -> ProbePlan {
        let settings = try S3Settings(metadata: metadata)
        let caFile = try settings.trustAnchors.map { anchors throws(MetadataError) in try TrustStore.shared.file(for: anchors, field: "ssl_ca") }
        return ProbePlan(host: settings.host, hostAttr: "endpoint_url", driver: "libcurl") { _ in
            HTTPProbe(machine: S3ProbeMachine(settings: settings, caFile: caFile?.path), keepAlive: caFile)
        }
    }
}

/// Tests S3 credentials with one signed request: ListObjectsV2 (`max-keys=1`) on the bucket when
/// one is named, ListBuckets otherwise; path-style addressing at the endpoint; a bucket in another
/// region is retried once, signed for the region the answer names.
struct S3ProbeMachine: HTTPProbeMachine {
    let settings: S3Settings
    let caFile: String?
    /// The signing time of each request.
    var now: @Sendable () -> Date = { Date() }
    private var retried = false

    init(settings: S3Settings, caFile: String?, now: @escaping @Sendable () -> Date = { Date() }) {
        self.settings = settings
        self.caFile = caFile
        self.now = now
    }

    func start() -> HTTPStep {
        .send(request(region: settings.region, date: now()))
    }

    mutating func received(_ result: HTTPResult) -> HTTPStep {
        switch S3Classifier.classify(result, settings: settings, region: settings.region) {
        case .ok:
            return .finish(.ok)
        case .retry(let region) where !retried:
            retried = true
            return .send(request(region: region, date: now()))
        case .retry:
            return .finish(
                ProbeOutcome(.invalidMetadata, attr: "region_name", detail: "The bucket's region could not be settled.", stage: .request))
        case .outcome(let outcome):
            return .finish(outcome)
        }
    }

    /// The request of this probe, signed for `region` at `date`.
    func request(region: String, date: Date) -> HTTPCall {
        let authority = settings.port == (settings.useTLS ? 443 : 80) ? settings.host : "\(settings.host):\(settings.port)"
        let hostForURL = settings.host.contains(":") ? "[\(settings.host)]" : settings.host
        let urlAuthority = settings.port == (settings.useTLS ? 443 : 80) ? hostForURL : "\(hostForURL):\(settings.port)"
        var path = settings.basePath + "/"
        var query: [(name: String, value: String?)] = []
        if let bucket = settings.bucket {
            path += bucket
            query = [("list-type", "2"), ("max-keys", "1")]
        }
        let signer = SigV4Signer(
            credentials: AWSCredentials(accessKeyID: settings.accessKeyID, secretAccessKey: settings.secretAccessKey),
            region: region, service: "s3")
        let signed = signer.sign(SigV4Request(method: "GET", path: path, query: query, headers: [("Host", authority)]), date: date)
        let queryText = SigV4Signer.canonicalQuery(query)
        let url =
            "\(settings.useTLS ? "https" : "http")://\(urlAuthority)\(SigV4Signer.encodePath(path))"
            + (queryText.isEmpty ? "" : "?" + queryText)
        return HTTPCall(method: "GET", url: url, headers: signed.headers, caFile: caFile, stage: .request)
    }
}
