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

/// `POST test_connectors/` end to end against the live servers.
extension LiveServiceTests {
    @Suite struct LiveAPITests {
        static let uri = "/api/v1/unstract/default/test_connectors/"

        private func post(_ connectorID: String, _ metadata: JSONValue, query: String = "") async throws -> (Int, JSONValue, String) {
            let engine = try LiveServices.engine()
            defer { engine.shutdown() }
            return try await TemporaryStore.with { temporary in
                let router = buildRouter(engine: engine, store: temporary.store)
                return try await Application(router: router).test(.router) { client in
                    let answer = try await APIClient(client: client).call(
                        .post, Self.uri + query, token: temporary.adminToken,
                        body: ["connector_id": .string(connectorID), "connector_metadata": metadata])
                    return (answer.status, answer.json, answer.text)
                }
            }
        }

        private func postgresMetadata(password: String) throws -> JSONValue {
            [
                "host": "localhost", "port": .string(try LiveServices.value("CE_PG_PORT")),
                "database": .string(try LiveServices.value("CE_PG_DATABASE")), "user": .string(try LiveServices.value("CE_PG_USER")),
                "password": .string(password), "sslmode": "verify-full", "sslrootcert": .string(try LiveServices.value("CE_TLS_CA_PEM")),
            ]
        }

        @Test func validPostgresCredentialsGetIsValidWithStages() async throws {
            let (status, body, _) = try await post(
                "postgresql|6db35f45-be11-4fd5-80c5-85c48183afbb", try postgresMetadata(password: try LiveServices.value("CE_PG_PASSWORD")))
            #expect(status == 200)
            #expect(body["is_valid"] == true)
            let stages = try #require(body["probe"]?["stages"]?.objectValue)
            #expect(Set(stages.keys) == ["resolve", "connect", "tls", "auth", "query"])
            #expect(stages.values.allSatisfy { $0["ok"] == true })
        }

        @Test func wrongPasswordIs403AndNeverEchoed() async throws {
            let secret = "Canary-\(UInt32.random(in: 0...UInt32.max))"
            let (status, body, text) = try await post(
                "postgresql|6db35f45-be11-4fd5-80c5-85c48183afbb", try postgresMetadata(password: secret))
            #expect(status == 403)
            #expect(body["type"] == "client_error")
            #expect(body["probe"]?["code"] == "auth_failed")
            #expect(body["probe"]?["attr"] == "password")
            #expect(!text.contains(secret))
        }

        @Test func mariadbTimeoutHonoursTheRequestedDeadline() async throws {
            let metadata: JSONValue = [
                "host": "127.0.0.1", "port": .string(try LiveServices.value("CE_HOLD_PORT")), "database": "x", "user": "u",
                "password": "p",
            ]
            let (status, body, _) = try await post("mariadb|146b0124-b9fc-466f-8e68-098ff60703e8", metadata, query: "?timeout=0.5")
            #expect(status == 408)
            #expect(body["probe"]?["stage"] == "auth")
            if case .number(let elapsed)? = body["probe"]?["elapsed_ms"] {
                #expect(elapsed >= 500)
            } else {
                Issue.record("no elapsed_ms")
            }
        }
    }
}
