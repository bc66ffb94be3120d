import ConnectorCore
import ConnectorStore
import Foundation
import Hummingbird
import HummingbirdTesting
import ProbeEngine
import Probes
import TestProcesses
import TestSupport
import Testing

@testable import ConnectorAPI

/// Issue 13: a test the engine ended because the server is shutting down (its grace ran out) is
/// answered 503 `shutting_down` with `Retry-After`, not given a verdict, and not audited.
@Suite struct ShutdownTests {
    @Test func aTestEndedByTheShutdownIs503ShuttingDown() async throws {
        let engine = try ProbeEngine.standard(configuration: EngineConfiguration(reactorThreads: 1, blockingThreads: 1))
        defer { engine.shutdown() }
        // Takes connections into its backlog and never answers: the probe would wait for its deadline.
        let silent = try HeldPort(listening: true)
        try await TemporaryStore.with { temporary in
            let app = Application(router: buildRouter(engine: engine, store: temporary.store))
            let body: JSONValue = [
                "connector_id": "postgresql|6db35f45-be11-4fd5-80c5-85c48183afbb",
                "connector_metadata": ["host": "127.0.0.1", "port": .string(String(silent.port)), "database": "d", "user": "u", "password": "p"],
            ]
            try await app.test(.router) { client in
                let api = APIClient(client: client, base: "/api/v1/unstract/default")
                async let answer = api.call(.post, "/test_connectors/?timeout=60", token: temporary.adminToken, body: body)
                // What the grace does when it ends: whether the test was in flight or not yet
                // started, it ends with the engine's shutdown.
                engine.shutdown()
                let cut = try await answer
                #expect(cut.status == 503 && cut.firstError?["code"] == "shutting_down", "\(cut.text)")
                #expect(cut.headers[.retryAfter] == "5" && cut.json["type"] == "server_error")
                // A stored connector's test, the same.
                let stored: JSONValue = [
                    "connector_id": "postgresql|6db35f45-be11-4fd5-80c5-85c48183afbb", "connector_name": "stored",
                    "connector_metadata": ["host": "127.0.0.1", "port": .string(String(silent.port)), "database": "d", "user": "u", "password": "p"],
                ]
                let created = try await api.call(.post, "/connector/", token: temporary.adminToken, body: stored)
                let id = try #require(created.json["id"]?.stringValue, "\(created.text)")
                let storedCut = try await api.call(.post, "/connector/\(id)/test/", token: temporary.adminToken)
                #expect(storedCut.status == 503 && storedCut.firstError?["code"] == "shutting_down", "\(storedCut.text)")
            }
        }
    }
}
