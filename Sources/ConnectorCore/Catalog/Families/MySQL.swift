extension ConnectorFamily {
    public static let mysql = ConnectorFamily(rawValue: "mysql")
    public static let mariadb = ConnectorFamily(rawValue: "mariadb")
}

extension ConnectorType {
    /// MySQL: host fields, TLS off unless `sslEnabled`.
    public static let mysql = mysqlProtocol(
        id: "mysql|db709852-fa51-4aa6-9b91-afc45f111bec", name: "MySQL", icon: "/icons/connector-icons/MySql.png", family: .mysql)

    /// MariaDB: the same form and protocol as MySQL.
    public static let mariadb = mysqlProtocol(
        id: "mariadb|146b0124-b9fc-466f-8e68-098ff60703e8", name: "MariaDB", icon: "/icons/connector-icons/MariaDB.png", family: .mariadb)

    /// A server of the MySQL protocol: MySQL and MariaDB differ only in their names.
    private static func mysqlProtocol(id: String, name: String, icon: String, family: ConnectorFamily) -> ConnectorType {
        ConnectorType(
            id: id, name: name, description: "\(name) Database", icon: icon, docPath: "databases/index/", mode: .database, family: family,
            schema: FormSchema.form(
                title: "\(name) Database", required: ["connectorName", "host", "port", "database", "user", "password"],
                properties: [
                    "connectorName": FormSchema.connectorName(default: "Unstract's \(name) connector"),
                    "host": FormSchema.text("Host", default: "localhost"), "port": FormSchema.text("Port", default: "3306"),
                    "database": FormSchema.text("Database", default: ""), "user": FormSchema.text("User", default: "root"),
                    "password": FormSchema.secret("Password", default: ""),
                    "sslEnabled": FormSchema.flag(
                        "Enable SSL", default: false,
                        description: "Connect over TLS. Turn this on when the server requires encrypted connections."),
                    "ssl_ca": FormSchema.caCertificates(
                        "The PEM text of the CA certificate or certificates to trust for the server's certificate when TLS is on (optional; the system trust store is used otherwise)."
                    ),
                    "ssl_verify_server_cert": FormSchema.flag(
                        "Verify server certificate", default: true,
                        description: "When TLS is on, check the server's certificate chain and that it matches the host name."),
                ]),
            destinationFields: ["host", "port"],
            checkSettings: { metadata throws(MetadataError) in _ = try MySQLSettings(metadata: metadata) },
            transport: { reader in
                let enabled = (try? reader.bool("sslEnabled", default: false)) ?? false
                let verified = (try? reader.bool("ssl_verify_server_cert", default: true)) ?? false
                return TransportSecurity(
                    level: enabled ? (verified ? 2 : 1) : 0, levelField: enabled ? "ssl_verify_server_cert" : "sslEnabled",
                    anchors: reader.anchors("ssl_ca"), anchorsField: "ssl_ca")
            })
    }
}
