import ConnectorAPI
import ConnectorCore
import Foundation
import Hummingbird
import HummingbirdTesting
import ProbeEngine
import Probes
import TestSupport
import Testing

@Suite struct APITests {
    static let base = "/api/v1/unstract/default"
    static let postgres = "postgresql|6db35f45-be11-4fd5-80c5-85c48183afbb"

    /// Runs `body` against a server on a fresh store, with the client and the admin's token.
    fileprivate func withApp(_ body: @Sendable (APIClient, String) async throws -> Void) async throws {
        let engine = try ProbeEngine.standard(configuration: EngineConfiguration(reactorThreads: 1, blockingThreads: 2))
        defer { engine.shutdown() }
        try await TemporaryStore.with { temporary in
            let app = Application(router: buildRouter(engine: engine, store: temporary.store))
            try await app.test(.router) { client in try await body(APIClient(client: client), temporary.adminToken) }
        }
    }

    @Test func supportedConnectorsListsTheCatalog() async throws {
        try await withApp { api, token in
            let all = try await api.call(.get, "\(Self.base)/supported_connectors/", token: token)
            #expect(all.status == 200)
            #expect(all.json.arrayValue?.count == 9)
            let databases = try await api.call(.get, "\(Self.base)/supported_connectors/?connector_mode=DATABASE", token: token)
            #expect(databases.json.arrayValue?.count == 5)
            let wrongMode = try await api.call(.get, "\(Self.base)/supported_connectors/?connector_mode=WRONG", token: token)
            #expect(wrongMode.status == 400 && wrongMode.firstError?["attr"] == "connector_mode")
            #expect(try await api.call(.get, "\(Self.base)/supported_connectors/?type=SIDEWAYS", token: token).status == 400)
        }
    }

    @Test func connectorSchema() async throws {
        try await withApp { api, token in
            let schema = try await api.call(.get, "\(Self.base)/connector_schema/?id=\(Self.postgres)", token: token)
            #expect(schema.status == 200)
            #expect(schema.json["oauth"] == false)
            #expect(schema.json["python_social_auth_backend"] == "")
            #expect(schema.json["json_schema"]?["allOf"] != nil)
            let noID = try await api.call(.get, "\(Self.base)/connector_schema/", token: token)
            #expect(noID.status == 400 && noID.firstError?["attr"] == "id")
            let unknown = try await api.call(.get, "\(Self.base)/connector_schema/?id=nope", token: token)
            #expect(unknown.status == 400 && unknown.firstError?["code"] == "unknown_connector")
        }
    }

    @Test func authenticationAndTenancy() async throws {
        try await withApp { api, token in
            let anonymous = try await api.call(.get, "\(Self.base)/supported_connectors/", token: nil)
            #expect(anonymous.status == 401 && anonymous.json["type"] == "client_error")
            #expect(try await api.call(.get, "\(Self.base)/supported_connectors/", token: "wrong").status == 401)
            let otherOrganization = try await api.call(.get, "/api/v1/unstract/other/supported_connectors/", token: token)
            #expect(otherOrganization.status == 404 && otherOrganization.firstError?["code"] == "not_found")
            let nowhere = try await api.call(.get, "/no/such/route", token: nil)
            #expect(nowhere.status == 404 && nowhere.headers[.contentType] == "application/json")
            #expect(try await api.call(.get, "/healthz", token: nil).status == 200)
        }
    }

    @Test func testEndpointRejectsBadBodies() async throws {
        try await withApp { api, token in
            let path = "\(Self.base)/test_connectors/"
            let notJSON = try await api.call(.post, path, token: token, raw: "{not json")
            #expect(notJSON.status == 400 && notJSON.firstError?["code"] == "parse_error")
            let noID = try await api.call(.post, path, token: token, body: ["connector_metadata": [:]])
            #expect(noID.status == 400 && noID.firstError?["attr"] == "connector_id")
            let big = try await api.call(.post, path, token: token, body: ["connector_id": .string(String(repeating: "x", count: 1 << 20))])
            #expect(big.status == 413 && big.firstError?["code"] == "payload_too_large")
            let body: JSONValue = ["connector_id": .string(Self.postgres), "connector_metadata": ["host": "h"]]
            let longTimeout = try await api.call(.post, path + "?timeout=9999", token: token, body: body)
            #expect(longTimeout.status == 400 && longTimeout.firstError?["attr"] == "timeout")
        }
    }

    @Test func testEndpointReturnsVerdictsWithProbe() async throws {
        try await withApp { api, token in
            let path = "\(Self.base)/test_connectors/"
            let unknown = try await api.call(.post, path, token: token, body: ["connector_id": "nope|1", "connector_metadata": [:]])
            #expect(unknown.status == 400 && unknown.firstError?["code"] == "unknown_connector")
            #expect(unknown.json["is_valid"] == false)
            let badPort: JSONValue = [
                "connector_id": .string(Self.postgres),
                "connector_metadata": ["connectorName": "x", "host": "db", "port": "70000", "database": "d", "user": "u", "password": "hunter2"],
            ]
            let invalid = try await api.call(.post, path, token: token, body: badPort)
            #expect(invalid.status == 400 && invalid.json["type"] == "validation_error")
            #expect(invalid.firstError?["attr"] == "port")
            #expect(!invalid.text.contains("hunter2"))
            let metadataService: JSONValue = [
                "connector_id": .string(Self.postgres),
                "connector_metadata": ["host": "169.254.169.254", "port": "5432", "database": "d", "user": "u", "password": "hunter2"],
            ]
            let denied = try await api.call(.post, path, token: token, body: metadataService)
            #expect(denied.status == 403)
            #expect(denied.json["probe"]?["code"] == "egress_denied")
            #expect(denied.json["probe"]?["stages"]?["resolve"] != nil)
            #expect(!denied.text.contains("hunter2"))
        }
    }

    @Test(arguments: ["\(base)/supported_connectors/", "\(base)/supported_connectors"])
    func routesAnswerWithAndWithoutTrailingSlash(_ path: String) async throws {
        try await withApp { api, token in
            let listed = try await api.call(.get, path, token: token)
            #expect(listed.status == 200)
        }
    }
}
