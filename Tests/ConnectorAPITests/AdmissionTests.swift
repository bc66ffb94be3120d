import ConnectorAPI
import ConnectorCore
import ConnectorStore
import Foundation
import HealthChecks
import Hummingbird
import HummingbirdTesting
import ProbeEngine
import Probes
import TestSupport
import Testing

@Suite struct AdmissionTests {
    @Test func capsPerUserAndPerOrganization() {
        let admission = TestAdmission(limits: TestLimits(perUser: 2, perOrganization: 3))
        #expect(admission.admit(user: "a", organization: "o"))
        #expect(admission.admit(user: "a", organization: "o"))
        #expect(!admission.admit(user: "a", organization: "o"), "user cap")
        #expect(admission.admit(user: "b", organization: "o"))
        #expect(!admission.admit(user: "c", organization: "o"), "organization cap")
        #expect(admission.admit(user: "c", organization: "other"))
        admission.release(user: "a", organization: "o")
        #expect(admission.inFlight(organization: "o") == 2)
        #expect(admission.admit(user: "c", organization: "o"))
    }

    @Test func overTheCapIs429WithRetryAfter() async throws {
        let engine = try ProbeEngine.standard(configuration: EngineConfiguration(reactorThreads: 1, blockingThreads: 1))
        defer { engine.shutdown() }
        let admission = TestAdmission(limits: TestLimits(perUser: 1, perOrganization: 10, retryAfterSeconds: 2))
        try await TemporaryStore.with { temporary in
            let app = Application(router: buildRouter(engine: engine, store: temporary.store, admission: admission))
            let user = String(temporary.admin.id)
            let body: JSONValue = [
                "connector_id": "postgresql|6db35f45-be11-4fd5-80c5-85c48183afbb",
                "connector_metadata": ["host": "169.254.169.254", "port": "5432", "database": "d", "user": "u", "password": "p"],
            ]
            try await app.test(.router) { client in
                let api = APIClient(client: client, base: "/api/v1/unstract/default")
                // Another test of the same user is running.
                #expect(admission.admit(user: user, organization: "default"))
                let refused = try await api.call(.post, "/test_connectors/", token: temporary.adminToken, body: body)
                #expect(refused.status == 429)
                #expect(refused.headers[.retryAfter] == "2")
                #expect(refused.json["type"] == "client_error")
                admission.release(user: user, organization: "default")
                #expect(try await api.call(.post, "/test_connectors/", token: temporary.adminToken, body: body).status == 403)
                #expect(admission.inFlight(organization: "default") == 0)
            }
        }
    }
}
