import ConnectorCore
import Crypto
import Foundation

/// AWS credentials: a key id, its secret, and for temporary credentials a session token.
public struct AWSCredentials: Sendable {
    public var accessKeyID: String
    public var secretAccessKey: String
    public var sessionToken: String?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }
}

/// A request to sign, in decoded form: the signer does all the encoding.
public struct SigV4Request: Sendable {
    public var method: String
    /// The path, not percent-encoded (`/my bucket/key`).
    public var path: String
    /// Query parameters, not percent-encoded, in any order; a nil value is a bare name (`?acl`).
    public var query: [(name: String, value: String?)]
    /// Headers to send and sign, `host` included (with `:port` when not the scheme's default).
    public var headers: [(name: String, value: String)]
    /// Lower-case hex SHA-256 of the body, or `UNSIGNED-PAYLOAD` (S3 over HTTPS).
    public var payloadHash: String

    public init(
        method: String, path: String, query: [(name: String, value: String?)] = [], headers: [(name: String, value: String)],
        payloadHash: String = SigV4Signer.emptyPayloadHash
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.payloadHash = payloadHash
    }
}

/// What signing produced: the headers to add to the request, and the intermediate strings (for
/// tests and for debugging a `SignatureDoesNotMatch`; they hold no secret).
public struct SigV4Signature: Sendable {
    /// `X-Amz-Date`, the session token if any, `x-amz-content-sha256` for S3, and `Authorization`.
    public let headers: [(name: String, value: String)]
    public let canonicalRequest: String
    public let stringToSign: String
    public let authorization: String
}

/// AWS Signature Version 4, header-based (`AWS4-HMAC-SHA256`).
///
/// Generic services normalize the path (dot segments, duplicate slashes) and encode it; S3 signs
/// the path exactly as sent, encoded once, and always sends and signs `x-amz-content-sha256`.
public struct SigV4Signer: Sendable {
    /// The payload hash of a request without a body.
    public static let emptyPayloadHash = payloadHash(Data())
    /// Headers that proxies and HTTP stacks may change, so they are never signed.
    static let unsignedHeaders: Set<String> = [
        "user-agent", "expect", "transfer-encoding", "connection", "x-amzn-trace-id", "content-length",
        "accept-encoding", "authorization",
    ]

    public var credentials: AWSCredentials
    public var region: String
    public var service: String

    public init(credentials: AWSCredentials, region: String, service: String) {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    var isS3: Bool { service == "s3" }

    /// Signs `request` as of `date`.
    /// - Parameter signSessionToken: false adds the session token after signing (services that
    ///   want it outside the canonical request).
    public func sign(_ request: SigV4Request, date: Date, signSessionToken: Bool = true) -> SigV4Signature {
        let (amzDate, day) = Self.timestamps(date)
        var headers = request.headers
        headers.append(("X-Amz-Date", amzDate))
        if isS3 { headers.append(("x-amz-content-sha256", request.payloadHash)) }
        let alreadyHasToken = headers.contains { $0.name.lowercased() == "x-amz-security-token" }
        if let token = credentials.sessionToken, signSessionToken, !alreadyHasToken {
            headers.append(("X-Amz-Security-Token", token))
        }

        let (canonicalHeaders, signedHeaders) = Self.canonicalHeaders(headers)
        let canonicalRequest = [
            request.method.uppercased(),
            canonicalURI(request.path),
            Self.canonicalQuery(request.query),
            canonicalHeaders,
            signedHeaders,
            request.payloadHash,
        ].joined(separator: "\n")
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, Self.hex(SHA256.hash(data: Data(canonicalRequest.utf8)))]
            .joined(separator: "\n")
        let signature = Self.hex(HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: signingKey(day: day)))
        let authorization =
            "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"

        var added: [(name: String, value: String)] = [("X-Amz-Date", amzDate)]
        if isS3 { added.append(("x-amz-content-sha256", request.payloadHash)) }
        if let token = credentials.sessionToken, !alreadyHasToken { added.append(("X-Amz-Security-Token", token)) }
        added.append(("Authorization", authorization))
        return SigV4Signature(
            headers: added, canonicalRequest: canonicalRequest, stringToSign: stringToSign, authorization: authorization)
    }

    /// `kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, day), region), service), "aws4_request")`.
    func signingKey(day: String) -> SymmetricKey {
        var key = SymmetricKey(data: Data(("AWS4" + credentials.secretAccessKey).utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        return key
    }

    /// S3: the path encoded once, as sent. Others: dot segments and duplicate slashes removed
    /// first (RFC 3986 §5.2.4), then encoded.
    func canonicalURI(_ path: String) -> String {
        let raw = path.isEmpty ? "/" : path
        return Self.encodePath(isS3 ? raw : Self.normalize(raw))
    }

    // MARK: Encoding

    /// Percent-encodes every byte outside `A-Z a-z 0-9 - _ . ~` (upper-case hex), as SigV4 wants.
    public static func encode(_ text: String, keepingSlash: Bool = false) -> String {
        PercentEncoding.encode(text, keepingSlash: keepingSlash)
    }

    /// The path as it goes on the wire and into the canonical request: each segment encoded.
    public static func encodePath(_ path: String) -> String { encode(path, keepingSlash: true) }

    /// The query as it goes on the wire and into the canonical request: names and values
    /// encoded, then sorted by encoded name and value (byte order).
    public static func canonicalQuery(_ query: [(name: String, value: String?)]) -> String {
        query.map { (encode($0.name), encode($0.value ?? "")) }
            .sorted {
                $0.0 == $1.0
                    ? Array($0.1.utf8).lexicographicallyPrecedes(Array($1.1.utf8)) : Array($0.0.utf8).lexicographicallyPrecedes(Array($1.0.utf8))
            }
            .map { "\($0.0)=\($0.1)" }
            .joined(separator: "&")
    }

    /// Lower-case names sorted, values trimmed with inner runs of spaces collapsed, repeated
    /// headers joined with commas; returns the block (each line ending in `\n`) and the list.
    static func canonicalHeaders(_ headers: [(name: String, value: String)]) -> (String, String) {
        var merged: [String: [String]] = [:]
        for (name, value) in headers {
            let key = name.lowercased()
            guard !unsignedHeaders.contains(key) else { continue }
            merged[key, default: []].append(collapseSpaces(value))
        }
        let names = merged.keys.sorted()
        let block = names.map { "\($0):\(merged[$0]!.joined(separator: ","))\n" }.joined()
        return (block, names.joined(separator: ";"))
    }

    static func collapseSpaces(_ value: String) -> String {
        value.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }).joined(separator: " ")
    }

    /// RFC 3986 remove_dot_segments, plus collapsing of empty segments; keeps a trailing slash.
    static func normalize(_ path: String) -> String {
        var output: [Substring] = []
        for segment in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch segment {
            case ".": continue
            case "..": if !output.isEmpty { output.removeLast() }
            default: output.append(segment)
            }
        }
        var result = "/" + output.joined(separator: "/")
        if path.hasSuffix("/") && result != "/" { result += "/" }
        return result
    }

    // MARK: Time and hex

    /// `YYYYMMDDTHHMMSSZ` and `YYYYMMDD`, UTC.
    static func timestamps(_ date: Date) -> (String, String) {
        let parts = UTCDateParts(date)
        let pad = UTCDateParts.padded
        let day = pad(parts.year, 4) + pad(parts.month, 2) + pad(parts.day, 2)
        return (day + "T" + pad(parts.hour, 2) + pad(parts.minute, 2) + pad(parts.second, 2) + "Z", day)
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    static func hex(_ digest: some Sequence<UInt8>) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(64)
        for byte in digest {
            bytes.append(hexDigits[Int(byte >> 4)])
            bytes.append(hexDigits[Int(byte & 0x0F)])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Lower-case hex SHA-256 of `body`, the payload hash of a request with that body.
    public static func payloadHash(_ body: some DataProtocol) -> String { hex(SHA256.hash(data: body)) }
}
