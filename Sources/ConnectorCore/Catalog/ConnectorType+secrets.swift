import Foundation

/// Secret fields in API responses and updates (issue 3 §7): secrets are masked on the way out; a
/// mask sent back means "keep the stored value"; and a stored secret is never re-aimed at another
/// destination.
extension ConnectorType {
    /// What a masked secret looks like on the wire.
    public static let secretMask = "********"

    /// The metadata fields that say where a connection goes; changing one while keeping a stored
    /// secret is refused.
    public var destinationFields: [String] {
        switch family {
        case .postgresql: ["host", "port", "connection_url"]
        case .mysql, .mariadb: ["host", "port"]
        case .snowflake: ["account"]
        case .s3: ["endpoint_url"]
        case .bigquery, .gcs, .dropbox, .googleDrive: []
        }
    }

    /// `metadata` with every secret replaced by the mask. In a connection URL only the password is
    /// masked, so the rest of the URL stays readable.
    public func masked(_ metadata: JSONValue) -> JSONValue {
        guard case .object(var members) = metadata else { return metadata }
        for field in secretFields {
            guard case .string(let value)? = members[field], !value.isEmpty else { continue }
            members[field] = .string(Self.isURLField(field) ? Self.maskingPassword(inURL: value) : Self.secretMask)
        }
        return .object(members)
    }

    /// The metadata to store after an update: masked secrets in `update` take the stored value.
    /// - Throws: ``MetadataError`` naming the secret field when a kept secret would go to a new
    ///   destination (the caller must send the secret again).
    public func merging(update: JSONValue, stored: JSONValue) throws(MetadataError) -> JSONValue {
        guard case .object(var members) = update, case .object(let old) = stored else { return update }
        var kept: [String] = []
        for field in secretFields {
            guard case .string(let value)? = members[field] else { continue }
            if value == Self.secretMask, let previous = old[field] {
                members[field] = previous
                kept.append(field)
            } else if Self.isURLField(field), Self.password(inURL: value) == Self.secretMask,
                case .string(let previousURL)? = old[field], let password = Self.password(inURL: previousURL)
            {
                members[field] = .string(Self.replacingPassword(inURL: value, with: password))
                kept.append(field)
            }
        }
        if let secret = kept.sorted().first, let changed = destinationFields.first(where: { destination(members, $0) != destination(old, $0) }) {
            throw MetadataError(
                attr: secret,
                "'\(changed)' changed while '\(secret)' was sent masked: send '\(secret)' again to use it with the new destination.")
        }
        return .object(members)
    }

    /// The destination a field names: for a URL, its host and port only.
    private func destination(_ members: [String: JSONValue], _ field: String) -> String? {
        guard let value = members[field] else { return nil }
        let text: String
        switch value {
        case .string(let string): text = string
        case .number(let number): text = number.rounded() == number ? String(Int64(exactly: number) ?? 0) : String(number)
        default: text = "\(value)"
        }
        guard Self.isURLField(field) else { return text }
        guard let components = URLComponents(string: text) else { return text }
        return "\(components.host?.lowercased() ?? ""):\(components.port.map(String.init) ?? "")"
    }

    private static func isURLField(_ field: String) -> Bool {
        field == "connection_url"
    }

    private static func password(inURL text: String) -> String? {
        URLComponents(string: text)?.password
    }

    private static func maskingPassword(inURL text: String) -> String {
        guard var components = URLComponents(string: text), components.host != nil else { return secretMask }
        if components.password != nil { components.password = secretMask }
        return components.string ?? secretMask
    }

    private static func replacingPassword(inURL text: String, with password: String) -> String {
        guard var components = URLComponents(string: text) else { return text }
        components.password = password
        return components.string ?? text
    }
}
