/// Validates connector metadata against the subset of JSON Schema our catalog uses: `type`,
/// `properties`, `required`, `enum`, `allOf`, `oneOf`/`anyOf`, `minLength`, `minimum`/`maximum`.
///
/// Two deliberate leniencies, because the schemas are written for a form that sends every value as
/// text: a JSON number is accepted where a string is expected (`5432` for `"5432"`), and `oneOf`
/// passes when any branch passes (a form may send fields of the branch it did not show).
public struct SchemaValidator: Sendable {
    /// The keywords this validator enforces.
    public static let keywords: Set<String> = [
        "type", "properties", "required", "enum", "allOf", "oneOf", "anyOf", "minLength", "minimum", "maximum",
    ]

    public let schema: JSONValue

    public init(schema: JSONValue) {
        self.schema = schema
    }

    /// Checks `value` against the schema.
    /// - Throws: ``MetadataError`` naming the first failing field.
    public func validate(_ value: JSONValue) throws(MetadataError) {
        if let error = Self.errors(value, schema, path: nil).first {
            throw error
        }
    }

    private static func errors(_ value: JSONValue, _ schema: JSONValue, path: String?) -> [MetadataError] {
        guard case .object(let rules) = schema else { return [] }
        var found: [MetadataError] = []

        if let type = rules["type"], !matches(value, type: type) {
            let expected = type.stringValue ?? "the declared type"
            return [
                MetadataError(
                    attr: path,
                    "\(path.map { "'\($0)'" } ?? "The metadata") must be \(article(expected)) \(expected), not \(article(value.typeName)) \(value.typeName)."
                )
            ]
        }
        if case .array(let allowed)? = rules["enum"], !allowed.contains(where: { loosely(value, equals: $0) }) {
            let choices = allowed.compactMap(\.stringValue).joined(separator: ", ")
            found.append(MetadataError(attr: path, "'\(path ?? "value")' must be one of: \(choices)."))
        }
        if case .number(let minimum)? = rules["minimum"], let number = numeric(value), number < minimum {
            found.append(MetadataError(attr: path, "'\(path ?? "value")' must be at least \(Int(minimum))."))
        }
        if case .number(let maximum)? = rules["maximum"], let number = numeric(value), number > maximum {
            found.append(MetadataError(attr: path, "'\(path ?? "value")' must be at most \(Int(maximum))."))
        }
        if case .number(let minLength)? = rules["minLength"], let text = value.stringValue, Double(text.count) < minLength {
            found.append(MetadataError(attr: path, "'\(path ?? "value")' must not be empty."))
        }

        if case .object(let members) = value {
            if case .array(let required)? = rules["required"] {
                for case .string(let name) in required where members[name] == nil || members[name] == .null {
                    found.append(MetadataError(attr: name, "'\(name)' is required."))
                }
            }
            if case .object(let properties)? = rules["properties"] {
                for (name, propertySchema) in properties.sorted(by: { $0.key < $1.key }) {
                    if let member = members[name], member != .null {
                        found += errors(member, propertySchema, path: name)
                    }
                }
            }
        }
        if case .array(let parts)? = rules["allOf"] {
            for part in parts { found += errors(value, part, path: path) }
        }
        for keyword in ["oneOf", "anyOf"] {
            guard case .array(let branches)? = rules[keyword], !branches.isEmpty else { continue }
            let outcomes = branches.map { (branch: $0, errors: errors(value, $0, path: path)) }
            if !outcomes.contains(where: \.errors.isEmpty) {
                // Report the branch the metadata meant: the one naming most of its fields, then
                // the one with the fewest errors.
                let keys = Set(value.objectValue?.keys.map { $0 } ?? [])
                func overlap(_ branch: JSONValue) -> Int {
                    var names = Set(branch["properties"]?.objectValue?.keys.map { $0 } ?? [])
                    if case .array(let required)? = branch["required"] { names.formUnion(required.compactMap(\.stringValue)) }
                    return names.intersection(keys).count
                }
                let best = outcomes.max { left, right in
                    let (l, r) = (overlap(left.branch), overlap(right.branch))
                    return l != r ? l < r : left.errors.count > right.errors.count
                }
                found += best?.errors ?? []
            }
        }
        return found
    }

    private static func matches(_ value: JSONValue, type: JSONValue) -> Bool {
        switch type {
        case .string(let name): return matches(value, typeName: name)
        case .array(let names): return names.contains { $0.stringValue.map { matches(value, typeName: $0) } ?? false }
        default: return true
        }
    }

    private static func matches(_ value: JSONValue, typeName: String) -> Bool {
        switch (typeName, value) {
        case ("string", .string), ("string", .number): true
        case ("boolean", .bool), ("object", .object), ("array", .array), ("null", .null): true
        case ("number", .number): true
        case ("integer", .number(let number)): number.rounded() == number
        default: false
        }
    }

    private static func numeric(_ value: JSONValue) -> Double? {
        if case .number(let number) = value { return number }
        return nil
    }

    private static func loosely(_ value: JSONValue, equals allowed: JSONValue) -> Bool {
        if value == allowed { return true }
        if case .number(let number) = value, case .string(let text) = allowed { return Double(text) == number }
        return false
    }

    private static func article(_ word: String) -> String {
        ["a", "e", "i", "o", "u"].contains(word.first.map(String.init) ?? "") ? "an" : "a"
    }
}
