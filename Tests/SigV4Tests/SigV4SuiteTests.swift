import Foundation
import SigV4
import Testing

/// The AWS Signature Version 4 test suite (Fixtures/sigv4/aws4_testsuite, from botocore's source
/// distribution, Apache-2.0): every case's canonical request, string to sign and Authorization.
@Suite struct SigV4SuiteTests {
    static let suite = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/sigv4/aws4_testsuite")
    static let date = Date(timeIntervalSince1970: 1_440_938_160)  // 2015-08-30T12:36:00Z

    /// Every folder holding a `.req` file, relative to the suite.
    static var cases: [String] {
        let enumerator = FileManager.default.enumerator(atPath: suite.path)
        var names: [String] = []
        while let path = enumerator?.nextObject() as? String {
            if path.hasSuffix(".req") { names.append((path as NSString).deletingLastPathComponent) }
        }
        return names.sorted()
    }

    static func file(_ name: String, _ suffix: String) throws -> String {
        let base = (name as NSString).lastPathComponent
        return try String(contentsOf: suite.appendingPathComponent("\(name)/\(base).\(suffix)"), encoding: .utf8)
    }

    /// Parses a `.req` file: request line, headers (folded lines continue the previous one), body.
    static func request(_ text: String) throws -> SigV4Request {
        var lines = text.components(separatedBy: "\n")
        let requestLine = lines.removeFirst()
        let method = String(requestLine.prefix { $0 != " " })
        let target = String(requestLine.dropFirst(method.count + 1).dropLast(" HTTP/1.1".count))
        var headers: [(name: String, value: String)] = []
        var bodyLines: [String]?
        for line in lines {
            if var body = bodyLines {
                body.append(line)
                bodyLines = body
            } else if line.isEmpty {
                bodyLines = []
            } else if line.first == " " || line.first == "\t", let last = headers.popLast() {
                headers.append((last.name, last.value + " " + line.trimmingCharacters(in: .whitespaces)))
            } else {
                let name = String(line.prefix { $0 != ":" })
                headers.append((name, String(line.dropFirst(name.count + 1))))
            }
        }
        let body = (bodyLines ?? []).joined(separator: "\n")
        // The signer adds X-Amz-Date from the signing time, as botocore does.
        headers.removeAll { $0.name.lowercased() == "x-amz-date" }
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        var query: [(name: String, value: String?)] = []
        if parts.count == 2 {
            for pair in parts[1].split(separator: "&") {
                let halves = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let name = String(halves[0]).removingPercentEncoding ?? String(halves[0])
                let value = halves.count == 2 ? (String(halves[1]).removingPercentEncoding ?? String(halves[1])) : nil
                query.append((name, value))
            }
        }
        return SigV4Request(
            method: method, path: String(parts[0]), query: query, headers: headers,
            payloadHash: SigV4Signer.payloadHash(Data(body.utf8)))
    }

    @Test func theSuiteHasEveryCase() {
        #expect(Self.cases.count == 34)
    }

    @Test(arguments: cases)
    func signsLikeTheSuite(_ name: String) throws {
        let token = name == "get-vanilla-with-session-token" ? "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267" : nil
        let signer = SigV4Signer(
            credentials: AWSCredentials(
                accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", sessionToken: token),
            region: "us-east-1", service: "service")
        let signature = signer.sign(try Self.request(try Self.file(name, "req")), date: Self.date)
        #expect(signature.canonicalRequest == (try Self.file(name, "creq")))
        #expect(signature.stringToSign == (try Self.file(name, "sts")))
        #expect(signature.authorization == (try Self.file(name, "authz")))
    }
}

/// The S3 examples of "Signature Calculations for the Authorization Header".
@Suite struct SigV4S3ExampleTests {
    static let signer = SigV4Signer(
        credentials: AWSCredentials(accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        region: "us-east-1", service: "s3")
    static let date = Date(timeIntervalSince1970: 1_369_353_600)  // 2013-05-24T00:00:00Z
    static let host = ("Host", "examplebucket.s3.amazonaws.com")

    static func signature(of authorization: String) -> String? {
        authorization.components(separatedBy: "Signature=").last
    }

    @Test func getObjectWithRange() {
        let signed = Self.signer.sign(
            SigV4Request(method: "GET", path: "/test.txt", headers: [Self.host, ("Range", "bytes=0-9")]), date: Self.date)
        #expect(signed.authorization.contains("SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"))
        #expect(Self.signature(of: signed.authorization) == "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    }

    @Test func getBucketLifecycle() {
        let signed = Self.signer.sign(
            SigV4Request(method: "GET", path: "/", query: [("lifecycle", nil)], headers: [Self.host]), date: Self.date)
        #expect(Self.signature(of: signed.authorization) == "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543")
    }

    @Test func listObjects() {
        let signed = Self.signer.sign(
            SigV4Request(method: "GET", path: "/", query: [("prefix", "J"), ("max-keys", "2")], headers: [Self.host]), date: Self.date)
        #expect(Self.signature(of: signed.authorization) == "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7")
        #expect(signed.stringToSign.hasSuffix("df57d21db20da04d7fa30298dd4488ba3a2b47ca3a489c74750e0f1e7df1b9b7"))
    }

    @Test func putObject() {
        let body = Data("Welcome to Amazon S3.".utf8)
        let signed = Self.signer.sign(
            SigV4Request(
                method: "PUT", path: "/test$file.text",
                headers: [("Date", "Fri, 24 May 2013 00:00:00 GMT"), Self.host, ("x-amz-storage-class", "REDUCED_REDUNDANCY")],
                payloadHash: SigV4Signer.payloadHash(body)),
            date: Self.date)
        #expect(SigV4Signer.payloadHash(body) == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072")
        #expect(signed.canonicalRequest.hasPrefix("PUT\n/test%24file.text\n"))
        #expect(Self.signature(of: signed.authorization) == "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd")
    }

    @Test func s3PathsAreNotNormalized() {
        let signed = Self.signer.sign(SigV4Request(method: "GET", path: "/my-object//example//photo.user", headers: [Self.host]), date: Self.date)
        #expect(signed.canonicalRequest.hasPrefix("GET\n/my-object//example//photo.user\n"))
    }
}
