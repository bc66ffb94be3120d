import Foundation

/// Everything needed to probe an S3-compatible service (Unstract's `minio` connector fields).
public struct S3Settings: Sendable, Equatable {
    public var useTLS: Bool
    public var host: String
    public var port: Int
    /// A path prefix of the endpoint (`https://host/prefix`), usually empty.
    public var basePath: String
    public var region: String
    public var accessKeyID: String
    public var secretAccessKey: String
    public var bucket: String?
    /// The CA certificates that verify an https endpoint; nil uses the system's.
    public var trustAnchors: TrustAnchors?
    /// Whether the endpoint is AWS's own (virtual-hosted style is then possible); custom
    /// endpoints are addressed path-style.
    public var isAWS: Bool { host == "s3.amazonaws.com" || (host.hasPrefix("s3.") && host.hasSuffix(".amazonaws.com")) }

    /// - Throws: ``MetadataError`` naming the field to fix.
    public init(metadata: JSONValue) throws(MetadataError) {
        let reader = try MetadataReader(metadata)
        let endpoint = try reader.string("endpoint_url") ?? "https://s3.amazonaws.com"
        guard let parts = URLComponents(string: endpoint), let scheme = parts.scheme?.lowercased(), ["http", "https"].contains(scheme),
            let rawHost = parts.host, !rawHost.isEmpty, parts.user == nil, parts.query == nil
        else {
            throw MetadataError(attr: "endpoint_url", "endpoint_url must be an http(s) URL such as https://s3.amazonaws.com.")
        }
        useTLS = scheme == "https"
        host = try MetadataReader.host(rawHost.trimmingCharacters(in: CharacterSet(charactersIn: "[]")), attr: "endpoint_url")
        port = parts.port ?? (useTLS ? 443 : 80)
        guard (1...65535).contains(port) else { throw MetadataError(attr: "endpoint_url", "The endpoint's port must be 1-65535.") }
        basePath = parts.path.hasSuffix("/") ? String(parts.path.dropLast()) : parts.path
        region = try reader.string("region_name") ?? "us-east-1"
        guard !region.isEmpty, region.count <= 64, region.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
            throw MetadataError(attr: "region_name", "region_name must be a region such as us-east-1.")
        }
        accessKeyID = try reader.string("key") ?? ""
        secretAccessKey = try reader.string("secret") ?? ""
        guard !accessKeyID.isEmpty else {
            throw MetadataError(
                attr: "key", "key is empty: credentials from the server's environment cannot be tested; give the access key id.")
        }
        guard !secretAccessKey.isEmpty else { throw MetadataError(attr: "secret", "secret is empty.") }
        bucket = try reader.string("bucket").flatMap { $0.isEmpty ? nil : $0 }
        trustAnchors = try reader.trustAnchors("ssl_ca")
        if let bucket, !Self.isValidBucketName(bucket) {
            throw MetadataError(
                attr: "bucket", "bucket must be 3-63 characters of a-z, 0-9, '.' and '-', starting and ending with a letter or digit.")
        }
    }

    static func isValidBucketName(_ name: String) -> Bool {
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789.-")
        guard (3...63).contains(name.count), name.allSatisfy({ allowed.contains($0) }),
            let first = name.first, let last = name.last, first.isLetter || first.isNumber, last.isLetter || last.isNumber
        else { return false }
        return true
    }
}
