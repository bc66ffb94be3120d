/// The built-in connector catalog: the nine connector types with their Unstract ids.
public struct Catalog: Sendable {
    public let types: [ConnectorType]
    private let byID: [String: ConnectorType]

    public init(types: [ConnectorType]) {
        self.types = types
        self.byID = Dictionary(types.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// The connector type with this id, if any.
    public func type(id: String) -> ConnectorType? {
        byID[id]
    }

    /// The connector types that read (`INPUT`) or write (`OUTPUT`), in one mode, or all.
    public func filtered(direction: String? = nil, mode: ConnectorMode? = nil) -> [ConnectorType] {
        types.filter { type in
            (direction != "INPUT" || type.canRead) && (direction != "OUTPUT" || type.canWrite)
                && (mode == nil || type.mode == mode)
        }
    }

    private static let docs = "https://docs.unstract.com/unstract/unstract_platform/connectors"

    /// The catalog this engine ships.
    public static let builtin = Catalog(types: [
        ConnectorType(
            id: "postgresql|6db35f45-be11-4fd5-80c5-85c48183afbb", name: "PostgreSQL",
            description: "postgresql Database", icon: "/icons/connector-icons/Postgresql.png",
            docURL: "\(docs)/databases/postgresql_database/", mode: .database, family: .postgresql,
            schemaText: BuiltinSchemas.postgresql),
        ConnectorType(
            id: "mysql|db709852-fa51-4aa6-9b91-afc45f111bec", name: "MySQL", description: "MySQL Database",
            icon: "/icons/connector-icons/MySql.png", docURL: "\(docs)/databases/index/", mode: .database,
            family: .mysql, schemaText: BuiltinSchemas.mysql),
        ConnectorType(
            id: "mariadb|146b0124-b9fc-466f-8e68-098ff60703e8", name: "MariaDB", description: "MariaDB Database",
            icon: "/icons/connector-icons/MariaDB.png", docURL: "\(docs)/databases/index/", mode: .database,
            family: .mariadb, schemaText: BuiltinSchemas.mariadb),
        ConnectorType(
            id: "bigquery|79e1d681-9b8b-4f6b-b972-1a6a095312f4", name: "BigQuery", description: "BigQuery Database",
            icon: "/icons/connector-icons/Bigquery.png", docURL: "\(docs)/databases/bigquery_database/",
            mode: .database, family: .bigquery, schemaText: BuiltinSchemas.bigquery),
        ConnectorType(
            id: "snowflake|87c5151e-5e41-420a-b1ea-772d9720929b", name: "Snowflake",
            description: "Snowflake Data Warehouse", icon: "/icons/connector-icons/Snowflake.png",
            docURL: "\(docs)/databases/snowflake_database/", mode: .database, family: .snowflake,
            schemaText: BuiltinSchemas.snowflake),
        ConnectorType(
            id: "minio|c799f6e3-2b57-434e-aaac-b5daa415da19", name: "S3/Minio",
            description: "Connect to AWS S3 and other compatible storage such as Minio.",
            icon: "/icons/connector-icons/S3.png", docURL: "\(docs)/filesystems/s3_minio_filesystem/",
            mode: .fileSystem, family: .s3, schemaText: BuiltinSchemas.minio),
        ConnectorType(
            id: "google_cloud_storage|109bbe7b-8861-45eb-8841-7244e833d97b", name: "Google Cloud Storage",
            description: "Access files in your Google Cloud Storage",
            icon: "/icons/connector-icons/google_cloud_storage.png", docURL: "\(docs)/filesystems/index/",
            mode: .fileSystem, family: .gcs, schemaText: BuiltinSchemas.googleCloudStorage),
        ConnectorType(
            id: "dropbox|db6bf4a6-f892-4d25-8652-2bf251946134", name: "Dropbox",
            description: "Access files in your Dropbox storage", icon: "/icons/connector-icons/Dropbox.png",
            docURL: "\(docs)/filesystems/dropbox_filesystem/", mode: .fileSystem, family: .dropbox,
            oauthBackend: "dropbox-oauth2", schemaText: BuiltinSchemas.dropbox),
        ConnectorType(
            id: "gdrive|3ac4b966-9136-4261-944a-bdbfc51cd21c", name: "Google Drive",
            description: "Access files in your Google Drive", icon: "/icons/connector-icons/Google%20Drive.png",
            docURL: "\(docs)/filesystems/google_drive_filesystem/", mode: .fileSystem, family: .googleDrive,
            oauthBackend: "google-oauth2", schemaText: BuiltinSchemas.googleDrive),
    ])
}
