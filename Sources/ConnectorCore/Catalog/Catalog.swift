/// The connector catalog: the connector types with their Unstract ids.
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

    /// The catalog this engine ships, in the order `supported_connectors/` lists it; each type is
    /// defined in `Families/`.
    public static let builtin = Catalog(types: [
        .postgresql, .mysql, .mariadb, .bigquery, .snowflake, .minio, .googleCloudStorage, .dropbox, .googleDrive,
    ])
}
