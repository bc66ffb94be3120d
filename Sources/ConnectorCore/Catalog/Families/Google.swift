extension ConnectorFamily {
    public static let bigquery = ConnectorFamily(rawValue: "bigquery")
    public static let gcs = ConnectorFamily(rawValue: "gcs")
    public static let googleDrive = ConnectorFamily(rawValue: "googleDrive")
}

extension ConnectorType {
    /// BigQuery: a service-account key file.
    public static let bigquery = ConnectorType(
        id: "bigquery|79e1d681-9b8b-4f6b-b972-1a6a095312f4", name: "BigQuery", description: "BigQuery Database",
        icon: "/icons/connector-icons/Bigquery.png", docPath: "databases/bigquery_database/", mode: .database, family: .bigquery,
        schema: FormSchema.form(
            title: "BigQuery Database", required: ["connectorName", "json_credentials"],
            properties: [
                "connectorName": FormSchema.connectorName(default: "Unstract's BigQuery connector"),
                "json_credentials": serviceAccountKey,
            ]))

    /// Google Cloud Storage: a service-account key file and the project.
    public static let googleCloudStorage = ConnectorType(
        id: "google_cloud_storage|109bbe7b-8861-45eb-8841-7244e833d97b", name: "Google Cloud Storage",
        description: "Access files in your Google Cloud Storage", icon: "/icons/connector-icons/google_cloud_storage.png",
        docPath: "filesystems/index/", mode: .fileSystem, family: .gcs,
        schema: FormSchema.form(
            title: "Google Cloud Storage", required: ["connectorName", "json_credentials", "project_id"],
            properties: [
                "connectorName": FormSchema.connectorName(default: "Unstract's google cloud storage"),
                "json_credentials": serviceAccountKey,
                "project_id": FormSchema.text("Project ID", description: "ID of the Google Cloud project that owns the buckets."),
                "bucket": FormSchema.text(
                    "Bucket",
                    description: "Optional. When given, the connection test reads this bucket; otherwise it lists the buckets of the project."),
            ]))

    /// Google Drive: OAuth tokens from signing in with Google, which the form does not show.
    public static let googleDrive = ConnectorType(
        id: "gdrive|3ac4b966-9136-4261-944a-bdbfc51cd21c", name: "Google Drive", description: "Access files in your Google Drive",
        icon: "/icons/connector-icons/Google%20Drive.png", docPath: "filesystems/google_drive_filesystem/", mode: .fileSystem,
        family: .googleDrive, oauthBackend: "google-oauth2",
        schema: FormSchema.form(
            title: "Google Drive", required: ["connectorName"],
            properties: ["connectorName": FormSchema.connectorName(default: "Unstract's google drive")]),
        hiddenSecretFields: ["access_token", "refresh_token"])

    /// The key file field BigQuery and Cloud Storage share.
    private static let serviceAccountKey = FormSchema.secret(
        "Credentials", default: "",
        description:
            "Paste the whole JSON key file of a Google Cloud service account. See the [Google Cloud guide](https://developers.google.com/workspace/guides/create-credentials#create_credentials_for_a_service_account) for creating one."
    )
}
