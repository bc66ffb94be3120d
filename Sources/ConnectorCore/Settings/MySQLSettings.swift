/// Everything needed to probe a MySQL or MariaDB server.
public struct MySQLSettings: Sendable, Equatable {
    public var host: String
    public var port: Int
    /// The default database; `nil` connects without one.
    public var database: String?
    public var user: String
    public var password: String
    /// Whether TLS is required.
    public var tlsEnabled: Bool
    /// Whether the server certificate and host name are verified when TLS is on.
    public var verifyServerCertificate: Bool
    /// The CA certificates to trust.
    public var trustAnchors: TrustAnchors?

    /// Parses validated metadata. A missing `sslEnabled` means off, as the schema's default says
    /// (Unstract's code silently turned it on; we follow the schema).
    /// - Throws: ``MetadataError`` naming the field to fix.
    public init(metadata: JSONValue) throws(MetadataError) {
        let reader = try MetadataReader(metadata)
        host = try MetadataReader.host(try reader.requiredString("host"), attr: "host")
        port = try reader.port("port", default: 3306)
        database = try reader.string("database")
        user = try reader.requiredString("user")
        password = try reader.string("password") ?? ""
        tlsEnabled = try reader.bool("sslEnabled", default: false)
        verifyServerCertificate = try reader.bool("ssl_verify_server_cert", default: true)
        trustAnchors = try reader.trustAnchors("ssl_ca")
    }
}
