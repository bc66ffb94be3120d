import ConnectorCore
import Foundation
import ProbeEngine
import Probes
import Testing

extension LiveServiceTests {
    /// A batch of Google probes fetches one token per account, whatever the concurrency.
    @Suite struct GoogleTokenCacheTests {
        static func tokenRequests(_ account: String) throws -> Int {
            let url = try URL(string: LiveServices.value("CE_GOOGLE_API_URL") + "/_stats")!
            let data = try Data(contentsOf: url)
            let stats = try JSONValue.parse(data)
            guard case .number(let count)? = stats["service_accounts"]?[account]?["token_requests"] else { return -1 }
            return Int(count)
        }

        @Test func aBatchFetchesOneTokenPerAccount() async throws {
            let account = try LiveServices.value("CE_GOOGLE_SA_OK_EMAIL")
            let metadata: JSONValue = [
                "json_credentials": .string(try LiveServices.value("CE_GOOGLE_SA_OK_JSON")),
                "project_id": .string(try LiveServices.value("CE_BQ_PROJECT")), "bucket": .string(try LiveServices.value("CE_GCS_BUCKET")),
            ]
            let before = try Self.tokenRequests(account)
            let engine = try LiveServices.engine()
            defer { engine.shutdown() }
            let requests = Array(
                repeating: ProbeRequest(connectorID: "google_cloud_storage|109bbe7b-8861-45eb-8841-7244e833d97b", metadata: metadata),
                count: 60)
            var codes: [OutcomeCode] = []
            for await (_, report) in engine.testAll(requests, concurrency: 30) { codes.append(report.code) }
            #expect(codes.count == 60 && codes.allSatisfy { $0 == .ok })
            #expect(try Self.tokenRequests(account) - before == 1)
        }
    }
}
