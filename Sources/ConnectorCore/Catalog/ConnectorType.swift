import Foundation

/// Whether a connector reads and writes files or rows.
public enum ConnectorMode: String, Sendable, Codable, CaseIterable {
    case fileSystem = "FILE_SYSTEM"
    case database = "DATABASE"
    case api = "API"
    case manualReview = "MANUAL_REVIEW"
    case unknown = "UNKNOWN"

    /// A mode as clients send it: the contract's spelling, or `FILESYSTEM` (which older builds
    /// of this engine returned and stored).
    public init?(wire text: String) {
        self.init(rawValue: text == "FILESYSTEM" ? Self.fileSystem.rawValue : text)
    }
}

/// The protocol family a connector speaks; each family has one probe.
public enum ConnectorFamily: String, Sendable, CaseIterable {
    case postgresql, mysql, mariadb, bigquery, snowflake, s3, gcs, dropbox, googleDrive
}

/// One entry of the connector catalog, with the Unstract-compatible id, texts and schema.
public struct ConnectorType: Sendable {
    /// `<short name>|<uuid>`, e.g. `postgresql|6db35f45-be11-4fd5-80c5-85c48183afbb`.
    public let id: String
    public let name: String
    public let description: String
    public let icon: String
    public let docURL: String
    public let mode: ConnectorMode
    public let family: ConnectorFamily
    public let canRead: Bool
    public let canWrite: Bool
    /// The python-social-auth backend for OAuth connectors, else `nil`.
    public let oauthBackend: String?
    /// The JSON Schema of the connector's metadata.
    public let schema: JSONValue
    /// Metadata fields that hold secrets: never logged, never returned in clear.
    public let secretFields: Set<String>

    /// The part of the id before `|`.
    public var shortName: String { String(id.split(separator: "|").first ?? "") }

    public var oauth: Bool { oauthBackend != nil }

    init(
        id: String, name: String, description: String, icon: String, docURL: String, mode: ConnectorMode,
        family: ConnectorFamily, oauthBackend: String? = nil, schemaText: String
    ) {
        self.id = id
        self.name = name
        self.description = description
        self.icon = icon
        self.docURL = docURL
        self.mode = mode
        self.family = family
        self.canRead = true
        self.canWrite = true
        self.oauthBackend = oauthBackend
        do {
            self.schema = try JSONDecoder().decode(JSONValue.self, from: Data(schemaText.utf8))
        } catch {
            preconditionFailure("built-in schema of \(id) is not JSON: \(error)")
        }
        self.secretFields = BuiltinSchemas.secretFields[String(id.split(separator: "|").first ?? "")] ?? []
    }

    /// Checks metadata against this connector's schema. The schema's `connectorName` is the
    /// form's name field, sent apart as `connector_name`, so metadata need not carry it.
    /// - Throws: ``MetadataError`` naming the failing field.
    public func validate(_ metadata: JSONValue) throws(MetadataError) {
        guard case .object(var members) = metadata else {
            throw MetadataError(attr: "connector_metadata", "connector_metadata must be a JSON object.")
        }
        if members["connectorName"] == nil { members["connectorName"] = .string(name) }
        try SchemaValidator(schema: schema).validate(.object(members))
    }

    /// The catalog row of `GET supported_connectors/`.
    public var summaryJSON: JSONValue {
        [
            "id": .string(id), "name": .string(name), "description": .string(description), "icon": .string(icon),
            "can_read": .bool(canRead), "can_write": .bool(canWrite), "connector_mode": .string(mode.rawValue),
            "doc_url": .string(docURL),
        ]
    }

    /// The body of `GET connector_schema/?id=`.
    public var schemaResponseJSON: JSONValue {
        ["oauth": .bool(oauth), "python_social_auth_backend": .string(oauthBackend ?? ""), "json_schema": schema]
    }
}

extension ConnectorType {
    /// What a stored connector must pass: the JSON Schema, then the typed settings parser of its
    /// family where one exists (port range, one host, parseable URL), so a connector that can
    /// never be tested is refused when saved, with the field named.
    public func validateForStorage(_ metadata: JSONValue) throws(MetadataError) {
        try validate(metadata)
        switch family {
        case .postgresql: _ = try PostgresSettings(metadata: metadata)
        case .mysql, .mariadb: _ = try MySQLSettings(metadata: metadata)
        case .s3: _ = try S3Settings(metadata: metadata)
        case .snowflake, .bigquery, .gcs, .dropbox, .googleDrive: break
        }
    }
}
