/// Builders for the JSON Schemas of the connector forms, written for react-jsonschema-form like
/// Unstract's `static/json_schema.json` files: the field names, types, `required` lists, defaults
/// and (for PostgreSQL) the `allOf`/`oneOf` shape are Unstract's, so an Unstract frontend renders
/// and submits them unchanged. Fields this engine adds are optional. A secret field is a
/// ``secret(_:default:description:)`` (`"format": "password"`), which is how the catalog knows it
/// is one.
public enum FormSchema {
    /// The keywords that only describe a field to the form (``SchemaValidator/keywords`` are the
    /// ones it enforces); a catalog schema uses no other.
    public static let annotations: Set<String> = ["title", "description", "default", "format", "placeholder"]

    /// A form: an object with `required` fields and `properties`.
    static func form(title: String, description: String? = nil, required: [String], properties: [String: JSONValue]) -> JSONValue {
        var members: [String: JSONValue] = [
            "title": .string(title), "type": "object", "required": .array(required.map { .string($0) }),
            "properties": .object(properties),
        ]
        if let description { members["description"] = .string(description) }
        return .object(members)
    }

    /// The form's own name field, which every connector has.
    static func connectorName(default name: String) -> JSONValue {
        text("Name of the connector", default: name)
    }

    /// A text field.
    static func text(
        _ title: String, default value: String? = nil, description: String? = nil, choices: [String]? = nil, placeholder: String? = nil
    ) -> JSONValue {
        var members: [String: JSONValue] = ["type": "string", "title": .string(title)]
        if let value { members["default"] = .string(value) }
        if let description { members["description"] = .string(description) }
        if let choices { members["enum"] = .array(choices.map { .string($0) }) }
        if let placeholder { members["placeholder"] = .string(placeholder) }
        return .object(members)
    }

    /// A secret: masked in the form and in every answer, encrypted at rest.
    static func secret(_ title: String, default value: String? = nil, description: String? = nil) -> JSONValue {
        guard case .object(var members) = text(title, default: value, description: description) else { return .null }
        members["format"] = "password"
        return .object(members)
    }

    /// A check box.
    static func flag(_ title: String, default value: Bool, description: String) -> JSONValue {
        ["type": "boolean", "title": .string(title), "description": .string(description), "default": .bool(value)]
    }

    /// The PEM text of CAs to trust.
    static func caCertificates(_ description: String) -> JSONValue {
        text("CA certificate (PEM)", description: description)
    }

    /// The fields of `schema` marked as secrets, at any depth (`allOf`/`oneOf` branches included).
    static func secretFields(of schema: JSONValue) -> Set<String> {
        var found = Set<String>()
        func walk(_ node: JSONValue) {
            guard case .object(let members) = node else { return }
            for (name, field) in members["properties"]?.objectValue ?? [:] where field["format"] == "password" {
                found.insert(name)
            }
            for keyword in ["allOf", "oneOf", "anyOf"] {
                for branch in members[keyword]?.arrayValue ?? [] { walk(branch) }
            }
        }
        walk(schema)
        return found
    }
}
