import ConnectorCore
import ConnectorStore
import Foundation
import HTTPTypes

/// The wire form of a connector (DESIGN §3): Unstract's keys, secrets masked, plus `is_owner`
/// and `last_health` for the caller.
enum ConnectorRepresentation {
    static func json(_ connector: StoredConnector, catalog: Catalog, caller: Caller) -> JSONValue {
        let type = catalog.type(id: connector.typeID)
        let icon = type.map { $0.icon.hasPrefix("/") ? $0.icon : "/" + $0.icon } ?? ""
        return .object([
            "id": .string(connector.id.uuidString.lowercased()),
            "connector_name": .string(connector.name),
            "connector_id": .string(connector.typeID),
            // A type no longer in the catalog cannot say which fields are secret: show none.
            "connector_metadata": type.map { $0.masked(connector.metadata) } ?? .object([:]),
            "connector_version": "",
            "connector_mode": .string(ConnectorMode(wire: connector.mode)?.rawValue ?? connector.mode),
            "created_by": connector.createdBy.map { .number(Double($0)) } ?? .null,
            "modified_by": connector.modifiedBy.map { .number(Double($0)) } ?? .null,
            "shared_users": .array(connector.sharedUsers.map { .number(Double($0)) }),
            "shared_to_org": .bool(connector.sharedToOrg),
            "organization": .string(connector.organizationID),
            "created_at": .string(timestamp(connector.createdAt)),
            "modified_at": .string(timestamp(connector.modifiedAt)),
            "icon": .string(icon),
            "is_owner": .bool(connector.isOwned(by: caller.userID)),
            "last_health": connector.lastHealth.map(lastHealth) ?? .null,
        ])
    }

    /// `{checked_at, is_valid, code, stage}` of the newest check.
    static func lastHealth(_ health: LastHealth) -> JSONValue {
        [
            "checked_at": .string(timestamp(health.checkedAt)), "is_valid": .bool(health.isValid), "code": .string(health.code),
            "stage": health.stage.map { .string($0) } ?? .null,
        ]
    }

    /// ISO 8601 with microseconds and `Z`, as Django REST framework renders datetimes.
    static func timestamp(_ date: Date) -> String {
        UTCDateParts.iso8601(date)
    }
}

/// A parsed create, PUT or PATCH body. Every field is optional here; the route decides which
/// are required.
struct ConnectorInput: Sendable {
    var typeID: String?
    var name: String?
    var metadata: JSONValue?
    var sharedUsers: [Int64]?
    var sharedToOrg: Bool?
    /// An OAuth cache key sent inside `connector_metadata` (the query's `oauth-key` wins).
    var oauthKey: String?

    /// Fields a client may send that the server sets itself; accepted and ignored, as Unstract does.
    private static let ignoredKeys: Set<String> = [
        "id", "created_by", "modified_by", "created_at", "modified_at", "connector_mode", "icon", "is_owner", "last_health",
        "connector_version", "organization",
    ]

    static func parse(_ body: some Collection<UInt8>) throws -> ConnectorInput {
        let members = try RequestBody.object(body)
        var input = ConnectorInput()
        for (key, value) in members {
            switch key {
            case "connector_id":
                guard case .string(let id) = value, !id.isEmpty, id.count <= 128 else {
                    throw APIError.validation("Must be a non-empty string of at most 128 characters.", attr: "connector_id")
                }
                input.typeID = id
            case "connector_name":
                guard case .string(let name) = value else { throw APIError.validation("Must be a string.", attr: "connector_name") }
                input.name = try validName(name)
            case "connector_metadata":
                guard case .object(var metadata) = value else {
                    throw APIError.validation("Must be a JSON object.", attr: "connector_metadata")
                }
                input.oauthKey = metadata.removeValue(forKey: "oauth-key")?.stringValue
                input.metadata = .object(metadata)
            case "shared_users":
                guard case .array(let items) = value else {
                    throw APIError.validation("Must be a list of user ids.", attr: "shared_users")
                }
                input.sharedUsers = try items.map { item in
                    guard case .number(let number) = item, let id = Int64(exactly: number), id > 0 else {
                        throw APIError.validation("Every entry must be a user id (a positive integer).", attr: "shared_users")
                    }
                    return id
                }
            case "shared_to_org":
                guard case .bool(let flag) = value else { throw APIError.validation("Must be true or false.", attr: "shared_to_org") }
                input.sharedToOrg = flag
            case _ where ignoredKeys.contains(key):
                continue
            default:
                throw APIError.validation("Unknown field '\(key)'.", attr: key, code: .unknownField)
            }
        }
        return input
    }

    /// Unstract's name rules: trimmed, not empty, at most 128 characters, no markup, line breaks
    /// or control characters (NUL included). Workflow names follow them too.
    /// - Parameter attr: the field named in the error.
    static func validName(_ raw: String, attr: String = "connector_name") throws -> String {
        let name = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !name.isEmpty else { throw APIError.validation("This field may not be blank.", attr: attr, code: .blank) }
        guard name.count <= 128 else {
            throw APIError.validation("Ensure this field has no more than 128 characters.", attr: attr, code: .maxLength)
        }
        let lowered = name.lowercased()
        if name.contains(where: { $0 == "<" || $0 == ">" || $0.isNewline })
            || name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
            || lowered.contains("javascript:")
        {
            throw APIError.validation("Must not contain markup, line breaks or control characters.", attr: attr)
        }
        return name
    }
}
