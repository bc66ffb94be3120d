import ConnectorCore
import CurlDriver
import Foundation
import LinuxIO
import ProbeEngine
import SigV4
import Testing

@testable import Probes

@Suite struct S3SettingsTests {
    @Test func parsesTheEndpointAndNamesTheFieldAtFault() throws {
        let settings = try S3Settings(metadata: [
            "endpoint_url": "http://127.0.0.1:9000/", "region_name": "eu-west-1", "key": "AK", "secret": "S", "bucket": "my-bucket",
        ])
        #expect(settings.host == "127.0.0.1" && settings.port == 9000 && !settings.useTLS && settings.basePath.isEmpty)
        #expect(!settings.isAWS)
        #expect(try S3Settings(metadata: ["key": "AK", "secret": "S"]).isAWS)
        let bad: [(JSONValue, String)] = [
            (["endpoint_url": "ftp://x", "key": "AK", "secret": "S"], "endpoint_url"),
            (["endpoint_url": "https://user:pw@host", "key": "AK", "secret": "S"], "endpoint_url"),
            (["region_name": "us east", "key": "AK", "secret": "S"], "region_name"),
            (["key": "", "secret": "S"], "key"),
            (["key": "AK", "secret": ""], "secret"),
            (["key": "AK", "secret": "S", "bucket": "No_Such"], "bucket"),
        ]
        for (metadata, attr) in bad {
            #expect(throws: MetadataError.self) { try S3Settings(metadata: metadata) }
            do { _ = try S3Settings(metadata: metadata) } catch { #expect(error.attr == attr, "\(metadata)") }
        }
    }
}

@Suite struct S3ClassifierTests {
    static let withBucket = try! S3Settings(metadata: ["endpoint_url": "http://127.0.0.1:9000", "key": "AK", "secret": "S", "bucket": "b-1"])
    static let noBucket = try! S3Settings(metadata: ["endpoint_url": "http://127.0.0.1:9000", "key": "AK", "secret": "S"])

    static func answer(_ status: Int, code: String?, region: String? = nil, headers: [(name: String, value: String)] = []) -> HTTPResult {
        var xml = "<?xml version=\"1.0\"?><Error>"
        if let code { xml += "<Code>\(code)</Code><Message>m</Message>" }
        if let region { xml += "<Region>\(region)</Region>" }
        xml += "<RequestId>r</RequestId></Error>"
        return HTTPResult(curlCode: 0, status: status, headers: headers, body: Array(xml.utf8))
    }

    @Test(
        arguments: [
            (403, "InvalidAccessKeyId", OutcomeCode.authFailed, "key"),
            (403, "SignatureDoesNotMatch", .authFailed, "secret"),
            (400, "ExpiredToken", .authFailed, "key"),
            (403, "AccessDenied", .permissionDenied, "bucket"),
            (404, "NoSuchBucket", .notFound, "bucket"),
            (400, "InvalidBucketName", .invalidMetadata, "bucket"),
            (403, "RequestTimeTooSkewed", .clockSkew, nil),
            (503, "SlowDown", .throttled, nil),
            (500, "InternalError", .serverError, nil),
            (418, nil, .protocolError, "endpoint_url"),
        ] as [(Int, String?, OutcomeCode, String?)])
    func errorCodesDecide(_ status: Int, _ code: String?, _ outcome: OutcomeCode, _ attr: String?) {
        let verdict = S3Classifier.classify(Self.answer(status, code: code), settings: Self.withBucket, region: "us-east-1")
        guard case .outcome(let result) = verdict else {
            Issue.record("expected an outcome, got \(verdict)")
            return
        }
        #expect(result.code == outcome)
        #expect(result.attr == attr)
        #expect(result.signal == (code.map { "S3 \($0) (HTTP \(status))" } ?? "HTTP \(status)"))
    }

    @Test func accessDeniedWithoutABucketPointsAtTheKey() {
        let verdict = S3Classifier.classify(Self.answer(403, code: "AccessDenied"), settings: Self.noBucket, region: "us-east-1")
        guard case .outcome(let result) = verdict else { Issue.record("no outcome"); return }
        #expect(result.code == .permissionDenied && result.attr == "key")
    }

    @Test func aBucketInAnotherRegionIsRetriedThere() {
        #expect(
            S3Classifier.classify(
                Self.answer(400, code: "AuthorizationHeaderMalformed", region: "eu-west-1"), settings: Self.withBucket, region: "us-east-1")
                == .retry(region: "eu-west-1"))
        #expect(
            S3Classifier.classify(
                Self.answer(301, code: "PermanentRedirect", headers: [("x-amz-bucket-region", "ap-south-1")]), settings: Self.withBucket,
                region: "us-east-1") == .retry(region: "ap-south-1"))
        // The same region again, or none named: the region is wrong and cannot be recovered.
        guard
            case .outcome(let result) = S3Classifier.classify(
                Self.answer(400, code: "AuthorizationHeaderMalformed", region: "us-east-1"), settings: Self.withBucket, region: "us-east-1")
        else { Issue.record("no outcome"); return }
        #expect(result.code == .invalidMetadata && result.attr == "region_name")
    }

    @Test(
        arguments: [
            (7, 111, OutcomeCode.connectionRefused),
            (7, 101, .networkUnreachable),
            (28, 0, .timeout),
            (60, 0, .tlsFailure),
            (35, 0, .tlsFailure),
            (56, 104, .protocolError),
        ] as [(Int32, Int, OutcomeCode)])
    func transportFailuresUseCurlCodesAndErrno(_ curl: Int32, _ errno: Int, _ outcome: OutcomeCode) {
        let verdict = S3Classifier.classify(HTTPResult(curlCode: curl, osErrno: errno), settings: Self.withBucket, region: "us-east-1")
        guard case .outcome(let result) = verdict else { Issue.record("no outcome"); return }
        #expect(result.code == outcome)
        #expect(result.signal?.hasPrefix("curl \(curl)") == true)
    }

    @Test func aRefusedAddressIsAnEgressDenial() {
        let verdict = S3Classifier.classify(HTTPResult(curlCode: 7, addressRefused: true), settings: Self.withBucket, region: "us-east-1")
        guard case .outcome(let result) = verdict else { Issue.record("no outcome"); return }
        #expect(result.code == .egressDenied)
    }
}

@Suite struct S3RequestTests {
    @Test func listObjectsIsPathStyleSignedWithTheSortedQuery() throws {
        let settings = try S3Settings(metadata: [
            "endpoint_url": "http://127.0.0.1:9000", "region_name": "us-east-1", "key": "AKIDEXAMPLE",
            "secret": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "bucket": "ce-probe",
        ])
        let probe = S3ProbeMachine(settings: settings, caFile: nil)
        let date = Date(timeIntervalSince1970: 1_440_938_160)
        let spec = probe.request(region: "us-east-1", date: date)
        #expect(spec.url == "http://127.0.0.1:9000/ce-probe?list-type=2&max-keys=1")
        #expect(spec.method == "GET")
        let names = spec.headers.map { $0.name.lowercased() }
        #expect(names.contains("x-amz-date") && names.contains("x-amz-content-sha256") && names.contains("authorization"))
        #expect(!spec.headers.contains { $0.value.contains("wJalrXUtnFEMI") }, "the secret never travels")
        // The same request signed independently gives the same Authorization.
        let signer = SigV4Signer(
            credentials: AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
            region: "us-east-1", service: "s3")
        let expected = signer.sign(
            SigV4Request(method: "GET", path: "/ce-probe", query: [("max-keys", "1"), ("list-type", "2")], headers: [("Host", "127.0.0.1:9000")]),
            date: date)
        #expect(spec.headers.first { $0.name == "Authorization" }?.value == expected.authorization)
    }

    @Test func listBucketsWithoutABucket() throws {
        let settings = try S3Settings(metadata: ["endpoint_url": "https://s3.amazonaws.com", "key": "AK", "secret": "S"])
        let spec = S3ProbeMachine(settings: settings, caFile: nil).request(region: "us-east-1", date: Date())
        #expect(spec.url == "https://s3.amazonaws.com/")
    }
}
