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
        return ProbePlan(host: settings.host, hostAttr: "endpoint_url") { address in
            S3Probe(settings: settings, address: address, caFile: caFile)
        }
    }
}

/// Tests S3 credentials with one signed request over libcurl: ListObjectsV2 (`max-keys=1`) on
/// the bucket when one is named, ListBuckets otherwise; path-style addressing at the endpoint;
/// a bucket in another region is retried once, signed for the region the answer names.
final class S3Probe: Probe {
    private let settings: S3Settings
    private let address: IPAddress
    /// Held until the probe is gone: curl reads it during the handshake.
    private let caFile: TrustFile?
    private let exchange = HTTPExchange()
    private var retried = false

    init(settings: S3Settings, address: IPAddress, caFile: TrustFile? = nil) {
        self.settings = settings
        self.address = address
        self.caFile = caFile
    }

    func start(_ context: ProbeContext) -> ProbeStep {
        exchange.reportExpiries(to: context)
        return advance(exchange.start(request(region: settings.region)), context: context)
    }

    func resume(_ context: ProbeContext, events: IOEvents) -> ProbeStep {
        // TCP is up once the socket has a peer (curl's connect time is only set after TLS).
        if let fd = exchange.descriptor, SocketState.peerAddress(fd) != nil { context.enter(settings.useTLS ? .tls : .request) }
        let step = exchange.resume(events: events)
        if exchange.tlsDone { context.enter(.request) }
        return advance(step, context: context)
    }

    func close() { exchange.close() }

    /// The request of this probe, signed for `region`, as of now.
    func request(region: String, date: Date = Date()) -> HTTPRequestSpec {
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
        let url = "\(settings.useTLS ? "https" : "http")://\(urlAuthority)\(SigV4Signer.encodePath(path))"
            + (queryText.isEmpty ? "" : "?" + queryText)
        return HTTPRequestSpec(method: "GET", url: url, headers: signed.headers, address: address, caFile: caFile?.path)
    }

    private func advance(_ step: HTTPExchange.Step, context: ProbeContext) -> ProbeStep {
        switch step {
        case .wait(let wait):
            return wait
        case .failed(let outcome):
            return .finished(outcome)
        case .done(let result):
            switch S3Classifier.classify(result, settings: settings, region: settings.region) {
            case .ok:
                return .finished(.ok)
            case .retry(let region) where !retried:
                retried = true
                return advance(exchange.start(request(region: region)), context: context)
            case .retry:
                return .finished(
                    ProbeOutcome(.invalidMetadata, attr: "region_name", detail: "The bucket's region could not be settled.", stage: .request))
            case .outcome(let outcome):
                return .finished(outcome)
            }
        }
    }
}
