import ConnectorCore
import Hummingbird
import ProbeEngine
import TestSupport
import Testing

@testable import ConnectorAPI

/// The OpenAPI document (`Resources/openapi.json`) against the code: the routes the router
/// registers, the outcome vocabulary, and the one error body.
@Suite struct OpenAPIContractTests {
    static func document() throws -> JSONValue {
        try JSONValue.parse(OpenAPIDocument.bytes.get())
    }

    static let methods = ["get", "put", "post", "delete", "patch", "head", "options"]

    /// `METHOD /path` without a trailing slash (the router serves both spellings).
    static func key(_ method: String, _ path: String) -> String {
        let trimmed = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
        return "\(method.uppercased()) \(trimmed)"
    }

    @Test func everyRegisteredRouteIsDocumentedAndEveryDocumentedOneRegistered() async throws {
        let document = try Self.document()
        var documented = Set<String>()
        for (path, item) in document["paths"]?.objectValue ?? [:] {
            for method in Self.methods where item[method] != nil { documented.insert(Self.key(method, path)) }
        }
        let engine = try CRUDWorld.closedEndpointsEngine()
        defer { engine.shutdown() }
        let registered = try await TemporaryStore.with { temporary in
            Set(buildRouter(engine: engine, store: temporary.store).routes.map { Self.key($0.method.rawValue, $0.path.description) })
        }
        #expect(documented.count >= 25)
        #expect(registered.subtracting(documented).sorted() == [], "registered but not documented")
        #expect(documented.subtracting(registered).sorted() == [], "documented but not registered")
    }

    @Test func theOutcomeAndStageEnumsAreTheCodesOwn() throws {
        let schemas = try Self.document()["components"]?["schemas"]
        let codes = schemas?["OutcomeCode"]?["enum"]?.arrayValue?.compactMap(\.stringValue)
        #expect(codes == OutcomeCode.all.map(\.rawValue))
        let stages = schemas?["ProbeStage"]?["enum"]?.arrayValue?.compactMap(\.stringValue)
        #expect(stages == ProbeStage.allCases.map(\.rawValue))
    }

    /// Every 4xx and 5xx JSON answer is the error body, or a schema built on it (a failed test
    /// adds `is_valid` and `probe`, a connector in use its `workflows`). `/readyz`'s 503 is a
    /// readiness report, not an error of a request.
    @Test func everyErrorResponseIsTheOneErrorBody() throws {
        let document = try Self.document()
        let components = document["components"]
        func resolve(_ value: JSONValue?) -> JSONValue? {
            guard let reference = value?["$ref"]?.stringValue else { return value }
            let parts = reference.split(separator: "/").dropFirst().map(String.init)
            return resolve(parts.reduce(document as JSONValue?) { $0?[$1] })
        }
        func isErrorBody(_ schema: JSONValue?) -> Bool {
            if schema?["$ref"]?.stringValue == "#/components/schemas/ErrorBody" { return true }
            guard let resolved = resolve(schema), let first = resolved["allOf"]?.arrayValue?.first else { return false }
            return isErrorBody(first)
        }
        #expect(components?["schemas"]?["ErrorBody"] != nil)
        var checked = 0
        for (path, item) in document["paths"]?.objectValue ?? [:] {
            for method in Self.methods {
                for (status, response) in item[method]?["responses"]?.objectValue ?? [:] {
                    guard let code = Int(status), code >= 400, !(path == "/readyz" && code == 503) else { continue }
                    let resolved = resolve(response)
                    for (type, content) in resolved?["content"]?.objectValue ?? [:] where type == "application/json" {
                        checked += 1
                        #expect(isErrorBody(content["schema"]), "\(method.uppercased()) \(path) \(status)")
                    }
                }
            }
        }
        #expect(checked > 50)
    }
}
