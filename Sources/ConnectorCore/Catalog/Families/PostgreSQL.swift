import Foundation

extension ConnectorFamily {
    public static let postgresql = ConnectorFamily(rawValue: "postgresql")
}

extension ConnectorType {
    /// PostgreSQL: a libpq connection URL, or host fields; TLS as libpq's `sslmode`.
    public static let postgresql = ConnectorType(
        id: "postgresql|6db35f45-be11-4fd5-80c5-85c48183afbb", name: "PostgreSQL", description: "postgresql Database",
        icon: "/icons/connector-icons/Postgresql.png", docPath: "databases/postgresql_database/", mode: .database,
        family: .postgresql, schema: postgresSchema,
        // The URL embeds the password without being a password field in the form.
        hiddenSecretFields: ["connection_url"], destinationFields: ["host", "port", "connection_url"],
        checkSettings: { metadata throws(MetadataError) in _ = try PostgresSettings(metadata: metadata) },
        transport: { reader in
            var mode = reader.text("sslmode")
            if let url = reader.text("connection_url"),
                let inURL = URLComponents(string: url)?.queryItems?.first(where: { $0.name == "sslmode" })
            {
                mode = inURL.value
            }
            // An unknown mode ranks below `disable`; validation refuses it anyway.
            let level = PostgresSSLMode(rawValue: mode ?? "prefer").flatMap { PostgresSSLMode.allCases.firstIndex(of: $0) } ?? -1
            return TransportSecurity(level: level, levelField: "sslmode", anchors: reader.anchors("sslrootcert"), anchorsField: "sslrootcert")
        })

    private static var postgresSchema: JSONValue {
        let sslmode = FormSchema.text(
            "SSL mode", default: "prefer",
            description:
                "How TLS is negotiated with the server, as libpq's sslmode. verify-ca checks the certificate chain; verify-full also checks the host name.",
            choices: PostgresSSLMode.allCases.map(\.rawValue))
        let sslrootcert = FormSchema.caCertificates(
            "The PEM text of the CA certificate or certificates to trust for the server's certificate (optional; used by verify-ca and verify-full).")
        let url: JSONValue = [
            "title": "Postgres URL", "required": ["connection_url"],
            "properties": .object([
                "connection_url": FormSchema.text(
                    "Connection URL", default: "",
                    description: "A libpq connection URI, for example postgresql://username:password@localhost:5432/mydatabase"),
                "sslmode": sslmode, "sslrootcert": sslrootcert,
            ]),
        ]
        let params: JSONValue = [
            "title": "Postgres Params", "required": ["host", "port", "database", "user", "password"],
            "properties": .object([
                "host": FormSchema.text("Host"), "port": FormSchema.text("Port", default: "5432"),
                "database": FormSchema.text("Database", default: "postgres"),
                "schema": FormSchema.text(
                    "Schema", description: "Schema to use; public when left empty (optional)", placeholder: "Enter schema (optional)"),
                "user": FormSchema.text("User", default: "postgres"), "password": FormSchema.secret("Password", default: ""),
                "sslmode": sslmode, "sslrootcert": sslrootcert,
            ]),
        ]
        let name: JSONValue = [
            "required": ["connectorName"],
            "properties": ["connectorName": FormSchema.connectorName(default: "Unstract's PostgreSQL connector")],
        ]
        return ["title": "PostgreSQL Database", "type": "object", "allOf": [name, ["oneOf": [url, params]]]]
    }
}
