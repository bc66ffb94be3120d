/// Typed, field-named access to connector metadata, shared by the settings parsers.
struct MetadataReader {
    let members: [String: JSONValue]

    init(members: [String: JSONValue]) {
        self.members = members
    }

    init(_ metadata: JSONValue) throws(MetadataError) {
        guard case .object(let members) = metadata else {
            throw MetadataError(attr: "connector_metadata", "connector_metadata must be a JSON object.")
        }
        self.members = members
    }

    /// A string field; numbers are accepted as their decimal text; blank counts as absent.
    func string(_ name: String) throws(MetadataError) -> String? {
        switch members[name] {
        case nil, .null?: return nil
        case .string(let text)?: return text.isEmpty ? nil : text
        case .number(let number)?:
            if let whole = Int64(exactly: number) { return String(whole) }
            return String(number)
        case let other?:
            throw MetadataError(attr: name, "'\(name)' must be a string, not \(other.typeName).")
        }
    }

    /// A required, non-blank string field.
    func requiredString(_ name: String) throws(MetadataError) -> String {
        guard let text = try string(name) else { throw MetadataError(attr: name, "'\(name)' is required.") }
        return text
    }

    /// A boolean field, also accepting the strings "true"/"false".
    func bool(_ name: String, default fallback: Bool) throws(MetadataError) -> Bool {
        switch members[name] {
        case nil, .null?: return fallback
        case .bool(let flag)?: return flag
        case .string(let text)? where ["true", "false"].contains(text.lowercased()): return text.lowercased() == "true"
        default: throw MetadataError(attr: name, "'\(name)' must be true or false.")
        }
    }

    /// A TCP port field: digits only, 1...65535.
    func port(_ name: String, default fallback: Int) throws(MetadataError) -> Int {
        guard let text = try string(name) else { return fallback }
        return try Self.port(text, attr: name)
    }

    static func port(_ text: String, attr: String) throws(MetadataError) -> Int {
        guard !text.isEmpty, text.count <= 10, text.allSatisfy(\.isASCII), text.allSatisfy(\.isNumber),
            let number = Int(text)
        else {
            throw MetadataError(attr: attr, "'\(attr)' must be a number.")
        }
        guard (1...65535).contains(number) else {
            throw MetadataError(attr: attr, "'\(attr)' must be between 1 and 65535.")
        }
        return number
    }

    /// Checks that a host is a plausible DNS name or IP literal (no spaces, lists or schemes).
    static func host(_ text: String, attr: String) throws(MetadataError) -> String {
        let forbidden: Set<Character> = [" ", "\t", "\n", ",", "/", "@", "?", "#"]
        guard !text.isEmpty, text.count <= 253, !text.contains(where: forbidden.contains) else {
            throw MetadataError(attr: attr, "'\(attr)' must be a single host name or IP address.")
        }
        return text
    }

    /// A PEM certificate bundle field, parsed (see ``TrustAnchors``).
    func trustAnchors(_ name: String) throws(MetadataError) -> TrustAnchors? {
        guard let text = try string(name) else { return nil }
        return try TrustAnchors(pem: text, field: name)
    }
}
