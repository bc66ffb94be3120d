import Foundation

/// Secret fields in API responses and updates (issue 3 §7): secrets are masked on the way out; a
/// mask sent back means "keep the stored value"; and a stored secret is never re-aimed at another
/// destination.
extension ConnectorType {
    /// What a masked secret looks like on the wire.
    public static let secretMask = "********"

    /// Where checks of a connector go, for limits per destination (DESIGN §9): its destination
    /// fields' values (host and port, endpoint, account); nil for a service without one of its own
    /// (the cloud APIs, S3 without an endpoint).
    public func destinationKey(_ metadata: JSONValue) -> String? {
        guard case .object(let members) = metadata else { return nil }
        let parts = destinationFields.map { destination(members, $0) ?? "" }
        guard parts.contains(where: { !$0.isEmpty }) else { return nil }
        return "\(family)|" + parts.joined(separator: "|")
    }

    /// `metadata` with every non-empty secret replaced by the mask, whatever its JSON type (a row
    /// stored before secrets were normalized may hold a number). In a connection URL only the
    /// password is masked, so the rest of the URL stays readable.
    public func masked(_ metadata: JSONValue) -> JSONValue {
        guard case .object(var members) = metadata else { return metadata }
        for field in secretFields {
            switch members[field] {
            case nil, .null?, .string("")?: continue
            case .string(let value)? where Self.isURLField(field): members[field] = .string(Self.maskingPassword(inURL: value))
            default: members[field] = .string(Self.secretMask)
            }
        }
        return .object(members)
    }

    /// `metadata` with every secret field as a string, as saved and tested: a whole JSON number
    /// becomes its decimal text (forms and YAML send digit-only passwords unquoted); any other
    /// type is refused, so a secret can never be stored in a form the masking does not know.
    /// - Parameter allowingMask: whether the mask may stand for a secret (an update keeping the
    ///   stored value). On create it is refused: the mask is not a password.
    /// - Throws: ``MetadataError`` naming the secret field.
    public func normalizingSecrets(_ metadata: JSONValue, allowingMask: Bool) throws(MetadataError) -> JSONValue {
        guard case .object(var members) = metadata else { return metadata }
        for field in secretFields.sorted() {
            guard let value = members[field] else { continue }
            let text: String
            switch value {
            case .string(let string): text = string
            case .number(let number):
                // Only a whole number below 2^53 has one exact decimal text; anything else would be
                // stored as a different secret than the one sent.
                guard let whole = Int64(exactly: number), whole.magnitude <= 1 << 53 else {
                    throw MetadataError(attr: field, "'\(field)' must be a string; send this number in quotes.")
                }
                text = String(whole)
            default:
                throw MetadataError(attr: field, "'\(field)' must be a string, not \(value.typeName).")
            }
            if !allowingMask, text == Self.secretMask || (Self.isURLField(field) && Self.password(inURL: text) == Self.secretMask) {
                throw MetadataError(attr: field, "'\(field)' is the mask \(Self.secretMask), not a secret: send the real value.")
            }
            members[field] = .string(text)
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
            if value == Self.secretMask {
                // The mask keeps a stored secret; with none stored it would become the secret.
                guard let previous = old[field] else {
                    throw MetadataError(attr: field, "'\(field)' is the mask \(Self.secretMask) but no value is stored: send the real value.")
                }
                members[field] = previous
                kept.append(field)
            } else if Self.isURLField(field), Self.password(inURL: value) == Self.secretMask,
                case .string(let previousURL)? = old[field], let password = Self.password(inURL: previousURL)
            {
                members[field] = .string(Self.replacingPassword(inURL: value, with: password))
                kept.append(field)
            }
        }
        guard let secret = kept.sorted().first else { return .object(members) }
        if let changed = destinationFields.first(where: { destination(members, $0) != destination(old, $0) }) {
            throw MetadataError(
                attr: secret,
                "'\(changed)' changed while '\(secret)' was sent masked: send '\(secret)' again to use it with the new destination.")
        }
        let (before, after) = (transport(MetadataReader(members: old)), transport(MetadataReader(members: members)))
        if let changed = after.anchors != before.anchors ? before.anchorsField : after.level < before.level ? after.levelField : nil {
            throw MetadataError(
                attr: secret,
                "'\(changed)' weakens or re-anchors TLS while '\(secret)' was sent masked: send '\(secret)' again to use it over the new channel.")
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

/// How a connection protects its secret in transit: a level (higher is stronger) and the CA set it
/// trusts. Lowering the level or changing the CAs while keeping a stored secret is treated as a new
/// destination: the secret could otherwise travel to a server it was never meant for.
struct TransportSecurity {
    var level: Int
    var levelField: String
    /// The CA set's identity (the digest of its certificates, or the text that does not parse).
    var anchors: String?
    var anchorsField: String

    /// A service whose transport the metadata does not choose (a cloud API over HTTPS).
    static let none = TransportSecurity(level: 0, levelField: "", anchors: nil, anchorsField: "")
}

extension MetadataReader {
    /// A text field, nil when absent or not text.
    func text(_ field: String) -> String? { (try? string(field)) ?? nil }

    /// The identity of the CA set a PEM field holds, nil when the field is absent.
    func anchors(_ field: String) -> String? {
        guard let pem = text(field) else { return nil }
        guard let parsed = try? TrustAnchors(pem: pem, field: field) else { return pem }
        return parsed.digest.map { String($0, radix: 16) }.joined(separator: ":")
    }
}
