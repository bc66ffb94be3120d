import ConnectorCore
import Foundation
import SQLKit
import Testing

@testable import ConnectorStore

/// Issue 10 (history and last health): every recorded check is kept, newest first and paged;
/// the newest is the connector's last health (an older one recorded late does not replace it);
/// deleting a connector deletes its history; pruning keeps recent rows; on both backends.
@Suite struct HealthHistoryTests {
    static let postgres = "postgresql|6db35f45-be11-4fd5-80c5-85c48183afbb"

    static func report(_ code: OutcomeCode, stage: ProbeStage?) -> ProbeReport {
        ProbeReport(
            code: code, stage: stage, attr: code == .authFailed ? "password" : nil, detail: code == .ok ? "" : "refused",
            elapsedMilliseconds: 12.5, stages: [StageTiming(stage: .connect, milliseconds: 1.25, ok: true)])
    }

    @Test(arguments: Backend.allCases)
    func checksAreKeptNewestFirstAndTheNewestIsTheLastHealth(_ backend: Backend) async throws {
        try await StoreHarness.withPopulatedStore(backend) { store, people in
            let connector = try await store.createConnector(
                NewConnector(name: "db", typeID: Self.postgres, mode: "DATABASE", metadata: ["host": "h", "password": "pw"]),
                organization: "acme", by: people.alice.id)
            #expect(try await store.connector(id: connector.id, organization: "acme")?.lastHealth == nil)
            let start = Date(timeIntervalSince1970: 1_800_000_000)
            let job = UUID()
            try await store.recordHealthCheck(
                Self.report(.ok, stage: nil), connector: connector.id, organization: "acme", trigger: .job(id: job, user: people.alice.id),
                at: start)
            try await store.recordHealthCheck(
                Self.report(.authFailed, stage: .auth), connector: connector.id, organization: "acme", trigger: .test(user: people.bob.id),
                at: start.addingTimeInterval(60))
            // A check that finished earlier but is recorded last does not become the last health.
            try await store.recordHealthCheck(
                Self.report(.timeout, stage: .connect), connector: connector.id, organization: "acme", trigger: .schedule,
                at: start.addingTimeInterval(30))

            let last = try #require(try await store.connector(id: connector.id, organization: "acme")?.lastHealth)
            #expect(last == LastHealth(checkedAt: start.addingTimeInterval(60), code: "auth_failed", stage: "auth"))
            #expect(!last.isValid)
            let listed = try await store.connectors(organization: "acme", visibleTo: people.alice.id, query: ConnectorQuery())
            #expect(listed.connectors.first?.lastHealth == last)

            let page = try await store.healthHistory(connector: connector.id, organization: "acme", page: 1, pageSize: 2)
            #expect(page.count == 3)
            #expect(page.checks.map(\.code) == ["auth_failed", "timeout"])
            let newest = try #require(page.checks.first)
            #expect(newest.triggeredVia == "test" && newest.triggeredBy == people.bob.id && newest.jobID == nil)
            #expect(newest.attr == "password" && newest.elapsedMilliseconds == 12.5)
            #expect(newest.stages == ["connect": ["ms": .number(1.25), "ok": true]])
            #expect(newest.warnings == [])
            let oldest = try await store.healthHistory(connector: connector.id, organization: "acme", page: 2, pageSize: 2).checks
            #expect(oldest.map(\.jobID) == [job])
            // Another organization sees nothing.
            #expect(try await store.healthHistory(connector: connector.id, organization: "other", page: 1, pageSize: 10).count == 0)

            // Pruning drops old rows, not the last health.
            #expect(try await store.pruneHealthHistory(olderThan: start.addingTimeInterval(45)) == 2)
            #expect(try await store.healthHistory(connector: connector.id, organization: "acme", page: 1, pageSize: 10).count == 1)
            #expect(try await store.connector(id: connector.id, organization: "acme")?.lastHealth == last)

            // An update (which locks the row) still works with the joined last health; a rename
            // keeps it, new credentials drop it (they were never checked), the history stays.
            let (updated, _) = try await store.updateConnector(
                id: connector.id, organization: "acme", by: people.alice.id, change: ConnectorChange(name: "db2")
            ) { _ in nil }
            #expect(updated.lastHealth == last)
            let (same, _) = try await store.updateConnector(
                id: connector.id, organization: "acme", by: people.alice.id, change: ConnectorChange()
            ) { $0.metadata }
            #expect(same.lastHealth == last)
            let (rekeyed, _) = try await store.updateConnector(
                id: connector.id, organization: "acme", by: people.alice.id, change: ConnectorChange()
            ) { _ in ["host": "h", "password": "new"] }
            #expect(rekeyed.lastHealth == nil)
            #expect(try await store.connector(id: connector.id, organization: "acme")?.lastHealth == nil)
            #expect(try await store.healthHistory(connector: connector.id, organization: "acme", page: 1, pageSize: 10).count == 1)

            try await store.deleteConnector(id: connector.id, organization: "acme", by: people.alice.id)
            #expect(try await store.healthHistory(connector: connector.id, organization: "acme", page: 1, pageSize: 10).count == 0)
            // A check that finishes after its connector was deleted is not recorded.
            try await store.recordHealthCheck(Self.report(.ok, stage: nil), connector: connector.id, organization: "acme", trigger: .schedule)
            let rows = try await store.database.read { db in try await db.raw("SELECT COUNT(*) AS n FROM connector_health").first() }
            #expect(try rows?.decode(column: "n", as: Int.self) == 0)
        }
    }

    @Test(arguments: Backend.allCases)
    func aChangeOfStateNotifiesTheOwnerAndSharedUsersOnce(_ backend: Backend) async throws {
        try await StoreHarness.withPopulatedStore(backend, queuesWebhooks: true) { store, people in
            let connector = try await store.createConnector(
                NewConnector(
                    name: "db", typeID: Self.postgres, mode: "DATABASE", metadata: ["host": "h", "password": "pw"], sharedUsers: [people.bob.id]),
                organization: "acme", by: people.alice.id)
            let healthy = try await store.createConnector(
                NewConnector(name: "fine", typeID: Self.postgres, mode: "DATABASE", metadata: ["host": "h2", "password": "pw"]),
                organization: "acme", by: people.alice.id)
            func kinds(_ user: User) async throws -> [String] {
                try await store.notifications(organization: "acme", userID: user.id).filter { $0.kind != "shared" }.map(\.kind)
            }
            let start = Date()
            // Never checked, then failing: both the owner and the shared user hear of it.
            try await store.recordHealthCheck(
                Self.report(.authFailed, stage: .auth), connector: connector.id, organization: "acme", trigger: .schedule, at: start)
            #expect(try await kinds(people.alice) == ["connector_failing"])
            #expect(try await kinds(people.bob) == ["connector_failing"])
            // Failing again: no news.
            try await store.recordHealthCheck(
                Self.report(.authFailed, stage: .auth), connector: connector.id, organization: "acme", trigger: .schedule,
                at: start.addingTimeInterval(60))
            #expect(try await kinds(people.alice).count == 1)
            // Bob's own test finds it valid again: Alice hears, Bob saw it himself.
            try await store.recordHealthCheck(
                Self.report(.ok, stage: nil), connector: connector.id, organization: "acme", trigger: .test(user: people.bob.id),
                at: start.addingTimeInterval(120))
            #expect(try await kinds(people.alice) == ["connector_recovered", "connector_failing"])
            #expect(try await kinds(people.bob) == ["connector_failing"])
            // A first check that passes is no news either; carol, who cannot see either, hears nothing.
            try await store.recordHealthCheck(Self.report(.ok, stage: nil), connector: healthy.id, organization: "acme", trigger: .schedule)
            #expect(try await kinds(people.alice).count == 2)
            #expect(try await kinds(people.carol).isEmpty)
            // Each notification is in the webhook outbox too.
            let due = try await store.dueWebhooks(now: start.addingTimeInterval(3600))
            #expect(due.filter { $0.notification.kind != "shared" }.count == 3)
        }
    }
}
