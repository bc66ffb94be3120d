/// The error body Unstract clients read:
/// `{"type": ..., "errors": [{"code", "detail", "attr"}]}`.
public struct APIErrorBody: Sendable, Equatable, Error {
    public struct Item: Sendable, Equatable {
        public var code: String
        public var detail: String
        public var attr: String?
    }

    /// `client_error`, `validation_error` or `server_error`.
    public var type: String
    public var errors: [Item]

    public init(type: String, code: String, detail: String, attr: String? = nil) {
        self.type = type
        self.errors = [Item(code: code, detail: detail, attr: attr)]
    }

    public var json: JSONValue {
        .object([
            "type": .string(type),
            "errors": .array(
                errors.map {
                    .object([
                        "code": .string($0.code), "detail": .string($0.detail),
                        "attr": $0.attr.map { .string($0) } ?? .null,
                    ])
                }),
        ])
    }
}
