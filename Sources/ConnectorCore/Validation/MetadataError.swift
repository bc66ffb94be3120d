/// Connector metadata that cannot be used: which field, and why, in words safe to show (never
/// the field's value, which may be a secret).
public struct MetadataError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The metadata field to fix, or `nil` when the whole document is wrong.
    public var attr: String?
    public var detail: String

    public init(attr: String?, _ detail: String) {
        self.attr = attr
        self.detail = detail
    }

    public var description: String { detail }
}
