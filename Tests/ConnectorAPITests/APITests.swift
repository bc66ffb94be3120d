import ConnectorAPI
import ConnectorCore
import Foundation
import Hummingbird
import HummingbirdTesting
import JSONOracle
import ProbeEngine
import Probes
import TestSupport
import Testing

@Suite struct APITests {
    static let base = "/api/v1/unstract/default"
    static let postgres = "postgresql|6db35f45-be11-4fd5-80c5-85c48183afbb"

    fileprivate func withApp(_ body: @Sendable (any TestClientProtocol, HTTPFields) async throws -> Void) async throws {
        let engine = try ProbeEngine.standard(configuration: EngineConfiguration(reactorThreads: 1, blockingThreads: 2))
        defer { engine.shutdown() }
        try await TemporaryStore.with { temporary in
            let app = Application(router: buildRouter(engine: engine, store: temporary.store))
            let auth: HTTPFields = [.authorization: "Bearer \(temporary.adminToken)"]
            try await app.test(.router) { client in try await body(client, auth) }
        }
    }

    private static func json(_ response: TestResponse) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(response.body.readableBytesView))
    }

    private static func firstError(_ response: TestResponse) throws -> JSONValue? {
        guard case .array(let errors)? = try json(response)["errors"] else { return nil }
        return errors.first
    }

    @Test func supportedConnectorsListsTheCatalog() async throws {
        try await withApp { client, auth in
            try await client.execute(uri: "\(Self.base)/supported_connectors/", method: .get, headers: auth) { response in
                #expect(response.status == .ok)
                guard case .array(let rows) = try Self.json(response) else { Issue.record("not an array"); return }
                #expect(rows.count == 9)
            }
            try await client.execute(
                uri: "\(Self.base)/supported_connectors/?connector_mode=DATABASE", method: .get, headers: auth
            ) { response in
                guard case .array(let rows) = try Self.json(response) else { Issue.record("not an array"); return }
                #expect(rows.count == 5)
            }
            try await client.execute(
                uri: "\(Self.base)/supported_connectors/?connector_mode=WRONG", method: .get, headers: auth
            ) { response in
                #expect(response.status == .badRequest)
                try #expect(Self.firstError(response)?["attr"] == "connector_mode")
            }
            try await client.execute(uri: "\(Self.base)/supported_connectors/?type=SIDEWAYS", method: .get, headers: auth) {
                #expect($0.status == .badRequest)
            }
        }
    }

    @Test func connectorSchema() async throws {
        try await withApp { client, auth in
            try await client.execute(uri: "\(Self.base)/connector_schema/?id=\(Self.postgres)", method: .get, headers: auth) {
                response in
                #expect(response.status == .ok)
                let body = try Self.json(response)
                #expect(body["oauth"] == false)
                #expect(body["python_social_auth_backend"] == "")
                #expect(body["json_schema"]?["allOf"] != nil)
            }
            try await client.execute(uri: "\(Self.base)/connector_schema/", method: .get, headers: auth) { response in
                #expect(response.status == .badRequest)
                try #expect(Self.firstError(response)?["attr"] == "id")
            }
            try await client.execute(uri: "\(Self.base)/connector_schema/?id=nope", method: .get, headers: auth) { response in
                #expect(response.status == .badRequest)
                try #expect(Self.firstError(response)?["code"] == "unknown_connector")
            }
        }
    }

    @Test func authenticationAndTenancy() async throws {
        try await withApp { client, auth in
            try await client.execute(uri: "\(Self.base)/supported_connectors/", method: .get) { response in
                #expect(response.status == .unauthorized)
                try #expect(Self.json(response)["type"] == "client_error")
            }
            try await client.execute(
                uri: "\(Self.base)/supported_connectors/", method: .get, headers: [.authorization: "Bearer wrong"]
            ) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/api/v1/unstract/other/supported_connectors/", method: .get, headers: auth) {
                response in
                #expect(response.status == .notFound)
                try #expect(Self.firstError(response)?["code"] == "not_found")
            }
            try await client.execute(uri: "/no/such/route", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(response.headers[.contentType] == "application/json")
            }
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
        }
    }

    @Test func testEndpointRejectsBadBodies() async throws {
        try await withApp { client, auth in
            let uri = "\(Self.base)/test_connectors/"
            try await client.execute(uri: uri, method: .post, headers: auth, body: ByteBuffer(string: "{not json")) {
                response in
                #expect(response.status == .badRequest)
                try #expect(Self.firstError(response)?["code"] == "parse_error")
            }
            try await client.execute(uri: uri, method: .post, headers: auth, body: ByteBuffer(string: #"{"connector_metadata": {}}"#)) {
                response in
                #expect(response.status == .badRequest)
                try #expect(Self.firstError(response)?["attr"] == "connector_id")
            }
            let big = ByteBuffer(string: #"{"connector_id": ""# + String(repeating: "x", count: 1 << 20) + #""}"#)
            try await client.execute(uri: uri, method: .post, headers: auth, body: big) { response in
                #expect(response.status == .contentTooLarge)
                try #expect(Self.firstError(response)?["code"] == "payload_too_large")
            }
            let body = ByteBuffer(string: #"{"connector_id": "\#(Self.postgres)", "connector_metadata": {"host": "h"}}"#)
            try await client.execute(uri: uri + "?timeout=9999", method: .post, headers: auth, body: body) { response in
                #expect(response.status == .badRequest)
                try #expect(Self.firstError(response)?["attr"] == "timeout")
            }
        }
    }

    @Test func testEndpointReturnsVerdictsWithProbe() async throws {
        try await withApp { client, auth in
            let uri = "\(Self.base)/test_connectors/"
            let unknown = ByteBuffer(string: #"{"connector_id": "nope|1", "connector_metadata": {}}"#)
            try await client.execute(uri: uri, method: .post, headers: auth, body: unknown) { response in
                #expect(response.status == .badRequest)
                try #expect(Self.firstError(response)?["code"] == "unknown_connector")
                try #expect(Self.json(response)["is_valid"] == false)
            }
            let invalid = ByteBuffer(
                string:
                    #"{"connector_id": "\#(Self.postgres)", "connector_metadata": {"connectorName": "x", "host": "db", "port": "70000", "database": "d", "user": "u", "password": "hunter2"}}"#
            )
            try await client.execute(uri: uri, method: .post, headers: auth, body: invalid) { response in
                #expect(response.status == .badRequest)
                try #expect(Self.json(response)["type"] == "validation_error")
                try #expect(Self.firstError(response)?["attr"] == "port")
                #expect(!String(buffer: response.body).contains("hunter2"))
            }
            let denied = ByteBuffer(
                string:
                    #"{"connector_id": "\#(Self.postgres)", "connector_metadata": {"host": "169.254.169.254", "port": "5432", "database": "d", "user": "u", "password": "hunter2"}}"#
            )
            try await client.execute(uri: uri, method: .post, headers: auth, body: denied) { response in
                #expect(response.status == .forbidden)
                let body = try Self.json(response)
                #expect(body["probe"]?["code"] == "egress_denied")
                #expect(body["probe"]?["stages"]?["resolve"] != nil)
                #expect(!String(buffer: response.body).contains("hunter2"))
            }
        }
    }
}

extension APITests {
    @Test func routesAnswerWithAndWithoutTrailingSlash() async throws {
        try await withApp { client, auth in
            for uri in ["\(Self.base)/supported_connectors/", "\(Self.base)/supported_connectors"] {
                try await client.execute(uri: uri, method: .get, headers: auth) { #expect($0.status == .ok) }
            }
        }
    }
}
