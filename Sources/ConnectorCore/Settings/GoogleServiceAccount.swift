import Foundation

/// A Google service-account key file (the JSON pasted into `json_credentials`).
public struct GoogleServiceAccount: Sendable, Equatable {
    public var clientEmail: String
    public var privateKeyPEM: String
    public var privateKeyID: String?
    /// The key file's own token endpoint; used only when the engine allows it.
    public var tokenURI: String?
    public var projectID: String?

    /// - Throws: ``MetadataError`` naming `json_credentials` (never echoing the key).
    public init(json text: String, attr: String = "json_credentials") throws(MetadataError) {
        guard let value = try? JSONValue.parse(Array(text.utf8)), case .object(let members) = value else {
            throw MetadataError(attr: attr, "\(attr) must be the JSON key file of a service account.")
        }
        guard members["type"]?.stringValue == "service_account" else {
            throw MetadataError(attr: attr, "\(attr) is not a service-account key (\"type\" must be \"service_account\").")
        }
        guard let email = members["client_email"]?.stringValue, email.contains("@") else {
            throw MetadataError(attr: attr, "\(attr) has no client_email.")
        }
        guard let key = members["private_key"]?.stringValue, key.contains("-----BEGIN PRIVATE KEY-----") else {
            throw MetadataError(attr: attr, "\(attr) has no PKCS#8 private_key.")
        }
        clientEmail = email
        privateKeyPEM = key
        privateKeyID = members["private_key_id"]?.stringValue
        tokenURI = members["token_uri"]?.stringValue
        projectID = members["project_id"]?.stringValue
    }
}

/// The fields of the GCS and BigQuery connectors.
public struct GoogleSettings: Sendable, Equatable {
    public var account: GoogleServiceAccount
    /// `project_id` of the metadata, else of the key file.
    public var projectID: String?
    public var bucket: String?

    /// - Throws: ``MetadataError`` naming the field to fix.
    public init(metadata: JSONValue) throws(MetadataError) {
        let reader = try MetadataReader(metadata)
        account = try GoogleServiceAccount(json: try reader.requiredString("json_credentials"))
        let project = try reader.string("project_id")
        projectID = (project?.isEmpty == false ? project : nil) ?? account.projectID
        let bucket = try reader.string("bucket")
        self.bucket = bucket?.isEmpty == false ? bucket : nil
    }
}
