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

/// The protocol family a connector speaks; each family has one probe driver. Each is declared
/// with its connector type in `Families/`.
public struct ConnectorFamily: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }
}

/// One entry of the connector catalog: the Unstract-compatible id, texts and schema, and what the
/// engine must know of its metadata (secret fields, where it connects, how its transport is
/// secured, its settings parser). Each lives in its own file under `Families/`; adding a family
/// is one such file, its probe driver, and a line in ``Catalog/builtin``.
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
    /// The schema read once for ``validate(_:)``.
    private let validator: SchemaValidator
    /// Metadata fields that hold secrets: never logged, never returned in clear. The schema's
    /// secret fields, and those it does not show (OAuth tokens, a URL holding a password).
    public let secretFields: Set<String>
    /// The metadata fields that say where a connection goes; changing one while keeping a stored
    /// secret is refused.
    public let destinationFields: [String]
    /// The typed settings parser of the family (port range, one host, a parseable URL), run
    /// before a connector is stored; nil where the schema says all.
    let checkSettings: (@Sendable (JSONValue) throws(MetadataError) -> Void)?
    /// How the metadata protects its secret in transit.
    let transport: @Sendable (MetadataReader) -> TransportSecurity

    /// The part of the id before `|`.
    public var shortName: String { String(id.split(separator: "|").first ?? "") }

    public var oauth: Bool { oauthBackend != nil }

    /// Where the Unstract documentation of the connectors lives; `docPath` is relative to it.
    static let docs = "https://docs.unstract.com/unstract/unstract_platform/connectors"

    init(
        id: String, name: String, description: String, icon: String, docPath: String, mode: ConnectorMode, family: ConnectorFamily,
        oauthBackend: String? = nil, schema: JSONValue, hiddenSecretFields: Set<String> = [], destinationFields: [String] = [],
        checkSettings: (@Sendable (JSONValue) throws(MetadataError) -> Void)? = nil,
        transport: @escaping @Sendable (MetadataReader) -> TransportSecurity = { _ in .none }
    ) {
        self.id = id
        self.name = name
        self.description = description
        self.icon = icon
        self.docURL = "\(Self.docs)/\(docPath)"
        self.mode = mode
        self.family = family
        self.canRead = true
        self.canWrite = true
        self.oauthBackend = oauthBackend
        self.schema = schema
        validator = SchemaValidator(schema: schema)
        self.secretFields = FormSchema.secretFields(of: schema).union(hiddenSecretFields)
        self.destinationFields = destinationFields
        self.checkSettings = checkSettings
        self.transport = transport
    }

    /// Checks metadata against this connector's schema. The schema's `connectorName` is the
    /// form's name field, sent apart as `connector_name`, so metadata need not carry it.
    /// - Throws: ``MetadataError`` naming the failing field.
    public func validate(_ metadata: JSONValue) throws(MetadataError) {
        guard case .object(var members) = metadata else {
            throw MetadataError(attr: "connector_metadata", "connector_metadata must be a JSON object.")
        }
        if members["connectorName"] == nil { members["connectorName"] = .string(name) }
        try validator.validate(.object(members))
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
    /// family where one exists, so a connector that can never be tested is refused when saved,
    /// with the field named.
    public func validateForStorage(_ metadata: JSONValue) throws(MetadataError) {
        try validate(metadata)
        try checkSettings?(metadata)
    }
}
