import ConnectorCore
import ConnectorStore
import Foundation
import HealthChecks
import Logging
import TestSupport
import Testing

/// `--health-retention-days`: checks older than the retention go, newer ones and the last
/// health stay.
@Suite struct HealthRetentionTests {
    @Test func pruningKeepsTheRetentionAndTheLastHealth() async throws {
        try await TemporaryStore.with { temporary in
            let store = temporary.store
            let connector = try await store.createConnector(
                NewConnector(
                    name: "db", typeID: "postgresql|6db35f45-be11-4fd5-80c5-85c48183afbb", mode: "DATABASE",
                    metadata: ["host": "h", "password": "pw"]),
                organization: "default", by: temporary.admin.id)
            let now = Date()
            for daysAgo in [45, 31, 29, 1] {
                try await store.recordHealthCheck(
                    ProbeReport(code: daysAgo == 1 ? .ok : .timeout, stage: .connect), connector: connector.id, organization: "default",
                    trigger: .schedule, at: now.addingTimeInterval(-Double(daysAgo) * 86_400))
            }
            let retention = HealthRetention(store: store, retention: .seconds(30 * 86_400), logger: Logger(label: "retention-test"))
            #expect(try await retention.prune(now: now) == 2)
            let left = try await store.healthHistory(connector: connector.id, organization: "default", page: 1, pageSize: 10)
            #expect(left.count == 2)
            #expect(try await retention.prune(now: now) == 0)
            #expect(try await store.connector(id: connector.id, organization: "default")?.lastHealth?.code == "ok")
        }
    }
}
