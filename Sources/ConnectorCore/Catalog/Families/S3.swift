extension ConnectorFamily {
    public static let s3 = ConnectorFamily(rawValue: "s3")
}

extension ConnectorType {
    /// S3 and compatible stores (MinIO): an access key pair at an endpoint.
    public static let minio = ConnectorType(
        id: "minio|c799f6e3-2b57-434e-aaac-b5daa415da19", name: "S3/Minio",
        description: "Connect to AWS S3 and other compatible storage such as Minio.", icon: "/icons/connector-icons/S3.png",
        docPath: "filesystems/s3_minio_filesystem/", mode: .fileSystem, family: .s3,
        schema: FormSchema.form(
            title: "S3/Minio Compatible Data Source",
            description: "Object storage reached through the Amazon S3 API: AWS S3 itself, or any compatible service such as MinIO.",
            required: ["connectorName", "endpoint_url", "region_name"],
            properties: [
                "connectorName": FormSchema.connectorName(default: "Unstract's S3/Minio"),
                "key": FormSchema.text(
                    "Key", default: "",
                    description:
                        "Access key ID. Leave Key and Secret both blank to rely on credentials from the environment (IAM role or instance profile)."
                ),
                "secret": FormSchema.secret("Secret", description: "Secret access key that belongs to the Key above; blank when Key is blank."),
                "endpoint_url": FormSchema.text(
                    "Endpoint URL", default: "https://s3.amazonaws.com",
                    description: "Base URL of the S3 service, for example https://s3.amazonaws.com for AWS or your MinIO server's address."),
                "region_name": FormSchema.text(
                    "Region Name", default: "ap-south", description: "AWS region of the account or bucket; MinIO usually accepts any value."),
                "bucket": FormSchema.text(
                    "Bucket",
                    description: "Optional. When given, the connection test lists this bucket; otherwise it lists the buckets of the account."),
                "ssl_ca": FormSchema.caCertificates(
                    "Optional PEM text of the CA certificate or certificates that sign an https endpoint's certificate (a self-hosted MinIO, say); the system trust store is used otherwise."
                ),
            ]),
        destinationFields: ["endpoint_url"],
        checkSettings: { metadata throws(MetadataError) in _ = try S3Settings(metadata: metadata) },
        transport: { reader in
            let https = reader.text("endpoint_url")?.lowercased().hasPrefix("https://") ?? true
            return TransportSecurity(level: https ? 1 : 0, levelField: "endpoint_url", anchors: reader.anchors("ssl_ca"), anchorsField: "ssl_ca")
        })
}
