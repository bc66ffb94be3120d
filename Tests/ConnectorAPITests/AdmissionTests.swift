import ConnectorAPI
import ConnectorCore
import ConnectorStore
import Foundation
import HealthChecks
import Hummingbird
import HummingbirdTesting
import JSONOracle
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
            let body =
                #"{"connector_id": "postgresql|6db35f45-be11-4fd5-80c5-85c48183afbb", "connector_metadata": {"host": "169.254.169.254", "port": "5432", "database": "d", "user": "u", "password": "p"}}"#
            try await app.test(.router) { client in
                // Another test of the same user is running.
                #expect(admission.admit(user: user, organization: "default"))
                try await client.execute(
                    uri: "/api/v1/unstract/default/test_connectors/", method: .post, headers: [.authorization: "Bearer \(temporary.adminToken)"],
                    body: ByteBuffer(string: body)
                ) { response in
                    #expect(response.status == .tooManyRequests)
                    #expect(response.headers[.retryAfter] == "2")
                    let json = try JSONDecoder().decode(JSONValue.self, from: Data(response.body.readableBytesView))
                    #expect(json["type"] == "client_error")
                }
                admission.release(user: user, organization: "default")
                try await client.execute(
                    uri: "/api/v1/unstract/default/test_connectors/", method: .post, headers: [.authorization: "Bearer \(temporary.adminToken)"],
                    body: ByteBuffer(string: body)
                ) { response in
                    #expect(response.status == .forbidden)
                }
                #expect(admission.inFlight(organization: "default") == 0)
            }
        }
    }
}
