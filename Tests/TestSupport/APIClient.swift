import ConnectorCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import JSONOracle
import NIOCore

/// How every API test calls the server under test: a JSON body written by Foundation's encoder and
/// the answer read by its decoder (the oracle of the engine's own codec), with the status,
/// headers and text beside it.
public struct APIClient: Sendable {
    public let client: any TestClientProtocol
    /// Put before every path, e.g. `/api/v1/unstract/default`.
    public let base: String

    public init(client: any TestClientProtocol, base: String = "") {
        self.client = client
        self.base = base
    }

    /// One answer of the server.
    public struct Answer: Sendable {
        public let status: Int
        public let headers: HTTPFields
        public let text: String
        /// The body as JSON; `.null` when it is empty or not JSON.
        public let json: JSONValue
        /// The first entry of an error body's `errors`.
        public var firstError: JSONValue? { json["errors"]?[0] }
    }

    /// Calls `base + path`; `token` is sent as `Authorization: Bearer`, none when nil.
    /// - Parameter raw: a body sent as it is (malformed JSON, say), instead of `body`.
    @discardableResult
    public func call(
        _ method: HTTPRequest.Method, _ path: String, token: String?, body: JSONValue? = nil, raw: String? = nil,
        headers extra: HTTPFields = [:]
    ) async throws -> Answer {
        var headers = extra
        if let token { headers[.authorization] = "Bearer \(token)" }
        let buffer = try raw.map { ByteBuffer(string: $0) } ?? body.map { ByteBuffer(bytes: try JSONEncoder().encode($0)) }
        return try await client.execute(uri: base + path, method: method, headers: headers, body: buffer) { response in
            let text = String(buffer: response.body)
            let json = (try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))) ?? .null
            return Answer(status: Int(response.status.code), headers: response.headers, text: text, json: json)
        }
    }
}
