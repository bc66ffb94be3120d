import Foundation

/// How a PostgreSQL connection uses TLS; the values of libpq's `sslmode`.
public enum PostgresSSLMode: String, Sendable, CaseIterable {
    case disable, allow, prefer, require
    case verifyCA = "verify-ca"
    case verifyFull = "verify-full"

    /// Whether TLS is mandatory (`require` or stronger). The probe then also requires SCRAM
    /// channel binding, so a password is never sent to a server that cannot prove it is the end
    /// of the TLS channel (a man in the middle under `require`, which checks no certificate).
    public var requiresTLS: Bool {
        switch self {
        case .disable, .allow, .prefer: false
        case .require, .verifyCA, .verifyFull: true
        }
    }
}

/// Everything needed to probe a PostgreSQL server, parsed from either form of the metadata
/// (`connection_url`, or the separate parameters).
public struct PostgresSettings: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var database: String
    public var user: String
    public var password: String
    /// A schema that must exist and be usable, when given.
    public var schema: String?
    public var sslMode: PostgresSSLMode
    /// The CA certificates to trust for `verify-ca`/`verify-full`.
    public var sslRootCert: TrustAnchors?
    /// The field that named the destination: `connection_url` or `host`; errors about the
    /// address or credentials point at it.
    public var destinationField: String
    /// The field that held the password.
    public var passwordField: String
    /// The field that named the database.
    public var databaseField: String
    /// The field that named the user.
    public var userField: String

    /// Parses validated metadata.
    /// - Throws: ``MetadataError`` naming the field to fix.
    public init(metadata: JSONValue) throws(MetadataError) {
        let reader = try MetadataReader(metadata)
        sslRootCert = try reader.trustAnchors("sslrootcert")
        var mode = try reader.string("sslmode")
        if let url = try reader.string("connection_url") {
            let parsed = try Self.parse(url: url)
            host = parsed.host
            port = parsed.port
            database = parsed.database
            user = parsed.user
            password = parsed.password
            mode = parsed.sslMode ?? mode
            destinationField = "connection_url"
            passwordField = "connection_url"
            databaseField = "connection_url"
            userField = "connection_url"
        } else {
            host = try MetadataReader.host(try reader.requiredString("host"), attr: "host")
            port = try reader.port("port", default: 5432)
            database = try reader.string("database") ?? "postgres"
            user = try reader.requiredString("user")
            password = try reader.string("password") ?? ""
            destinationField = "host"
            passwordField = "password"
            databaseField = "database"
            userField = "user"
        }
        schema = try reader.string("schema")
        if let mode {
            guard let parsed = PostgresSSLMode(rawValue: mode) else {
                throw MetadataError(
                    attr: "sslmode",
                    "'sslmode' must be one of: \(PostgresSSLMode.allCases.map(\.rawValue).joined(separator: ", ")).")
            }
            sslMode = parsed
        } else {
            sslMode = .prefer
        }
        // A NUL would end the value early for libpq and, sent as it is, add a parameter of the
        // sender's choosing to the StartupMessage.
        for (value, attr) in [(user, userField), (database, databaseField)] where value.utf8.contains(0) {
            throw MetadataError(attr: attr, "'\(attr)' must not contain a NUL character.")
        }
    }

    private struct ParsedURL {
        var host: String, port: Int, database: String, user: String, password: String, sslMode: String?
    }

    /// Parses `postgresql://user:password@host:port/database?sslmode=...`.
    private static func parse(url text: String) throws(MetadataError) -> ParsedURL {
        let attr = "connection_url"
        guard let components = URLComponents(string: text),
            let scheme = components.scheme?.lowercased(), ["postgres", "postgresql"].contains(scheme)
        else {
            throw MetadataError(attr: attr, "'connection_url' must be a URL of the form postgresql://user:password@host:port/database.")
        }
        guard let rawHost = components.percentEncodedHost, !rawHost.isEmpty else {
            throw MetadataError(attr: attr, "'connection_url' has no host.")
        }
        var host = rawHost.removingPercentEncoding ?? rawHost
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        host = try MetadataReader.host(host, attr: attr)
        let port: Int
        if let rawPort = components.port {
            port = try MetadataReader.port(String(rawPort), attr: attr)
        } else {
            port = 5432
        }
        guard let user = components.user, !user.isEmpty else {
            throw MetadataError(attr: attr, "'connection_url' has no user name.")
        }
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        var sslMode: String?
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode": sslMode = item.value
            case "application_name", "connect_timeout": continue
            default:
                throw MetadataError(attr: attr, "'connection_url' has the unsupported parameter '\(item.name)'.")
            }
        }
        return ParsedURL(
            host: host, port: port, database: path.isEmpty ? user : path, user: user,
            password: components.password ?? "", sslMode: sslMode)
    }
}
