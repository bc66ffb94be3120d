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
    /// The schema read once into rules, so that each check is a walk over fields rather than
    /// dictionary lookups by keyword.
    private let root: Rule

    public init(schema: JSONValue) {
        self.schema = schema
        root = Rule(schema)
    }

    /// Checks `value` against the schema.
    /// - Throws: ``MetadataError`` naming the first failing field.
    public func validate(_ value: JSONValue) throws(MetadataError) {
        if let failure = Self.errors(value, root, path: nil).first {
            throw failure.error
        }
    }

    /// One schema (or subschema) with the keywords this validator enforces; properties in name
    /// order, so errors come in a stable order.
    private struct Rule: Sendable {
        var type: JSONValue?
        var allowed: [JSONValue]?
        var minimum: Double?
        var maximum: Double?
        var minLength: Double?
        var required: [String] = []
        var properties: [(name: String, rule: Rule)] = []
        var allOf: [Rule] = []
        /// The branches of `oneOf`, then of `anyOf`: each list must have one branch that passes.
        var alternatives: [[Rule]] = []
        /// The fields this rule names (its properties and required), to tell which branch of an
        /// alternative the metadata meant.
        var names: Set<String> = []

        init(_ schema: JSONValue) {
            guard case .object(let rules) = schema else { return }
            type = rules["type"]
            if case .array(let values)? = rules["enum"] { allowed = values }
            if case .number(let value)? = rules["minimum"] { minimum = value }
            if case .number(let value)? = rules["maximum"] { maximum = value }
            if case .number(let value)? = rules["minLength"] { minLength = value }
            if case .array(let names)? = rules["required"] { required = names.compactMap(\.stringValue) }
            if case .object(let members)? = rules["properties"] {
                properties = members.sorted { $0.key < $1.key }.map { (name: $0.key, rule: Rule($0.value)) }
            }
            if case .array(let parts)? = rules["allOf"] { allOf = parts.map(Rule.init) }
            for keyword in ["oneOf", "anyOf"] {
                if case .array(let branches)? = rules[keyword], !branches.isEmpty { alternatives.append(branches.map(Rule.init)) }
            }
            names = Set(properties.map(\.name)).union(required)
        }
    }

    /// A check that failed, kept as data: most failures are in branches of an alternative that
    /// another branch passes, so their messages are written only for the one reported.
    private enum Failure {
        case type(path: String?, expected: String, actual: String)
        case notAllowed(path: String?, allowed: [JSONValue])
        case belowMinimum(path: String?, Double)
        case aboveMaximum(path: String?, Double)
        case empty(path: String?)
        case missing(String)

        var error: MetadataError {
            switch self {
            case .type(let path, let expected, let actual):
                MetadataError(
                    attr: path,
                    "\(path.map { "'\($0)'" } ?? "The metadata") must be \(SchemaValidator.article(expected)) \(expected), not \(SchemaValidator.article(actual)) \(actual)."
                )
            case .notAllowed(let path, let allowed):
                MetadataError(attr: path, "'\(path ?? "value")' must be one of: \(allowed.compactMap(\.stringValue).joined(separator: ", ")).")
            case .belowMinimum(let path, let minimum): MetadataError(attr: path, "'\(path ?? "value")' must be at least \(Int(minimum)).")
            case .aboveMaximum(let path, let maximum): MetadataError(attr: path, "'\(path ?? "value")' must be at most \(Int(maximum)).")
            case .empty(let path): MetadataError(attr: path, "'\(path ?? "value")' must not be empty.")
            case .missing(let name): MetadataError(attr: name, "'\(name)' is required.")
            }
        }
    }

    private static func errors(_ value: JSONValue, _ rule: Rule, path: String?) -> [Failure] {
        var found: [Failure] = []

        if let type = rule.type, !matches(value, type: type) {
            return [.type(path: path, expected: type.stringValue ?? "the declared type", actual: value.typeName)]
        }
        if let allowed = rule.allowed, !allowed.contains(where: { loosely(value, equals: $0) }) {
            found.append(.notAllowed(path: path, allowed: allowed))
        }
        if let minimum = rule.minimum, let number = numeric(value), number < minimum {
            found.append(.belowMinimum(path: path, minimum))
        }
        if let maximum = rule.maximum, let number = numeric(value), number > maximum {
            found.append(.aboveMaximum(path: path, maximum))
        }
        if let minLength = rule.minLength, let text = value.stringValue, Double(text.count) < minLength {
            found.append(.empty(path: path))
        }

        if case .object(let members) = value {
            for name in rule.required where members[name] == nil || members[name] == .null {
                found.append(.missing(name))
            }
            for (name, propertyRule) in rule.properties {
                if let member = members[name], member != .null {
                    found += errors(member, propertyRule, path: name)
                }
            }
        }
        for part in rule.allOf { found += errors(value, part, path: path) }
        for branches in rule.alternatives {
            let outcomes = branches.map { (branch: $0, errors: errors(value, $0, path: path)) }
            if !outcomes.contains(where: \.errors.isEmpty) {
                // Report the branch the metadata meant: the one naming most of its fields, then
                // the one with the fewest errors.
                let keys = Set(value.objectValue?.keys.map { $0 } ?? [])
                let best = outcomes.max { left, right in
                    let (l, r) = (left.branch.names.intersection(keys).count, right.branch.names.intersection(keys).count)
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
