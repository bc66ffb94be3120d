import ConnectorAPI
import ConnectorCore
import ConnectorStore
import Foundation
import Hummingbird
import HummingbirdTesting
import JSONOracle
import ProbeEngine
import Probes
import TestSupport
import Testing

extension LiveServiceTests {
    /// Stored connectors tested against the live PostgreSQL: `?test=true` and `connector/{id}/test/`.
    @Suite struct LiveStoredConnectorTests {
        @Test func storedCredentialsAreTestedAndTestTrueSavesOnlyWorkingOnes() async throws {
            let engine = try LiveServices.engine()
            defer { engine.shutdown() }
            let base = "/api/v1/unstract/default"
            let metadata: (String) throws -> JSONValue = { password in
                [
                    "host": "localhost", "port": .string(try LiveServices.value("CE_PG_PORT")),
                    "database": .string(try LiveServices.value("CE_PG_DATABASE")), "user": .string(try LiveServices.value("CE_PG_USER")),
                    "password": .string(password), "sslmode": "verify-full", "sslrootcert": .string(try LiveServices.value("CE_TLS_CA_PEM")),
                ]
            }
            let good = try metadata(try LiveServices.value("CE_PG_PASSWORD"))
            let bad = try metadata("wrong-password")
            try await TemporaryStore.with { temporary in
                let app = Application(router: buildRouter(engine: engine, store: temporary.store))
                try await app.test(.router) { client in
                    let api = APIClient(client: client, base: base)
                    func call(_ method: HTTPRequest.Method, _ path: String, _ body: JSONValue? = nil) async throws -> (Int, JSONValue) {
                        let answer = try await api.call(method, path, token: temporary.adminToken, body: body)
                        return (answer.status, answer.json)
                    }
                    let postgres = "postgresql|6db35f45-be11-4fd5-80c5-85c48183afbb"
                    let (refusedStatus, refused) = try await call(
                        .post, "/connector/?test=true",
                        ["connector_id": .string(postgres), "connector_name": "live", "connector_metadata": bad])
                    #expect(refusedStatus == 403 && refused["probe"]?["code"] == "auth_failed")
                    let (createdStatus, created) = try await call(
                        .post, "/connector/?test=true",
                        ["connector_id": .string(postgres), "connector_name": "live", "connector_metadata": good])
                    #expect(createdStatus == 201)
                    let id = try #require(created["id"]?.stringValue)
                    let (testStatus, verdict) = try await call(.post, "/connector/\(id)/test/")
                    #expect(testStatus == 200 && verdict["is_valid"] == true)
                    // The stored password stays when the mask is sent back with ?test=true.
                    var masked = good
                    if case .object(var members) = masked {
                        members["password"] = "********"
                        masked = .object(members)
                    }
                    let (patchStatus, _) = try await call(.patch, "/connector/\(id)/?test=true", ["connector_metadata": masked])
                    #expect(patchStatus == 200)
                    let audit = try await temporary.store.auditLog(organization: "default")
                    #expect(audit.filter { $0.action == .test && $0.connectorID == id }.map(\.outcome) == ["ok", "ok"])
                    // The two creates' tests, newest first, audited before any connector existed.
                    #expect(audit.filter { $0.action == .test && $0.connectorID == nil }.map(\.outcome) == ["ok", "auth_failed"])
                }
            }
        }
    }
}
