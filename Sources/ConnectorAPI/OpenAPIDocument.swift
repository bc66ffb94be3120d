import Foundation

/// The OpenAPI 3.1 contract served at `GET /api/v1/openapi.json`. It is `Resources/openapi.json`,
/// which SwiftPM copies into a resource bundle beside the binary; `OpenAPIContractTests` ties it
/// to the router and to the outcome vocabulary. (Embedding it in code instead, with
/// `.embedInCode`, cost 17–19 s of compiling for every edit on this machine; a copied resource
/// costs nothing.)
public enum OpenAPIDocument {
    /// The resource bundle SwiftPM builds for this module, beside the executable.
    public static let bundleName = "connector-engine_ConnectorAPI.resources"

    /// The document could not be read: the bundle was not installed beside the binary.
    public struct Missing: Error, CustomStringConvertible {
        public let path: String
        public var description: String {
            "The OpenAPI document \(path) is missing: install \(OpenAPIDocument.bundleName) beside the connector-engine binary."
        }
    }

    /// Where the document is read from: the bundle beside the running executable.
    public static var path: String {
        Bundle.main.bundleURL.appendingPathComponent(bundleName).appendingPathComponent("openapi.json").path
    }

    /// The document's bytes, read once.
    public static let bytes: Result<[UInt8], Missing> = {
        guard let data = FileManager.default.contents(atPath: path) else { return .failure(Missing(path: path)) }
        return .success(Array(data))
    }()
}
