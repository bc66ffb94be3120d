import ConnectorCore
import ConnectorStore
import Encryption
import Foundation
import HealthChecks
import Logging
import ProbeEngine
import Probes
import TestSupport
import Testing

/// The scheduler shared by replicas (issue 10): a pass checks what is due and schedules it an
/// interval later; replicas on one store never check a connector twice in an interval; a lease
/// its replica never completed expires and another replica takes the connector. The checks are
/// real probes of a closed loopback port (refused at once), recorded in the store.
@Suite struct HealthSchedulerTests {
    static let postgres = "postgresql|6db35f45-be11-4fd5-80c5-85c48183afbb"
    static let interval: Duration = .seconds(3600)
    static let logger = Logger(label: "scheduler-tests")

    /// A store on `kind` with organization `acme`, `count` connectors of its admin at a closed
    /// port, and a second store handle on the same database for a second replica.
    static func withStores(
        _ kind: TestDatabase.Kind, connectors count: Int, _ body: (ConnectorStore, ConnectorStore, [UUID]) async throws -> Void
    ) async throws {
        let database = try await TestDatabase.make(kind)
        let ring = try KeyRing(primary: try EncryptionKey.generate(id: "k"))
        do {
            try await ConnectorStore.withStore(database.location, keyRing: ring, logger: logger) { first in
                let (_, admin, _) = try await first.bootstrap(organization: "acme", email: "admin@acme.test")
                var ids: [UUID] = []
                for index in 0..<count {
                    let metadata: JSONValue = ["host": "127.0.0.1", "port": "1", "database": "d", "user": "u", "password": .string("p\(index)")]
                    ids.append(
                        try await first.createConnector(
                            NewConnector(name: "c\(index)", typeID: postgres, mode: "DATABASE", metadata: metadata), organization: "acme",
                            by: admin.id
                        ).id)
                }
                try await ConnectorStore.withStore(database.location, keyRing: ring, logger: logger) { second in
                    try await body(first, second, ids)
                }
            }
        } catch {
            await database.destroy()
            throw error
        }
        await database.destroy()
    }

    static func scheduler(_ store: ConnectorStore, engine: ProbeEngine, owner: String, batch: Int = 256) -> HealthScheduler {
        let dispatcher = BatchDispatcher(checker: StoredConnectorChecker(engine: engine, store: store), limits: BatchLimits(total: 8))
        return HealthScheduler(
            store: store, dispatcher: dispatcher,
            settings: .init(interval: interval, batchSize: batch, lease: .seconds(60), spreadFirstChecks: false), owner: owner,
            logger: logger)
    }

    static func engine() throws -> ProbeEngine {
        try ProbeEngine.standard(configuration: EngineConfiguration(reactorThreads: 1, blockingThreads: 2))
    }

    /// Recorded checks per connector.
    static func checks(_ store: ConnectorStore, _ ids: [UUID]) async throws -> [Int] {
        var counts: [Int] = []
        for id in ids { counts.append(try await store.healthHistory(connector: id, organization: "acme", page: 1, pageSize: 10).count) }
        return counts
    }

    /// Issue 13: a check the engine ended because it shut down says nothing about the
    /// credentials, so the history does not record it.
    @Test func aCheckEndedByTheShutdownIsNotRecorded() async throws {
        let engine = try Self.engine()
        defer { engine.shutdown() }
        try await Self.withStores(.sqlite, connectors: 1) { store, _, ids in
            let checker = StoredConnectorChecker(engine: engine, store: store)
            let connector = try #require(try await store.connector(id: ids[0], organization: "acme"))
            let checked = try await checker.check(connector, timeout: nil, requester: "test", trigger: .schedule)
            #expect(!checked.wasCutByShutdown)
            engine.shutdown()
            let cut = try await checker.check(connector, timeout: nil, requester: "test", trigger: .schedule)
            #expect(cut.wasCutByShutdown)
            #expect(try await Self.checks(store, ids) == [1])
        }
    }

    @Test(arguments: TestDatabase.Kind.allCases)
    func aPassChecksWhatIsDueAndSchedulesItAnIntervalLater(_ kind: TestDatabase.Kind) async throws {
        let engine = try Self.engine()
        defer { engine.shutdown() }
        try await Self.withStores(kind, connectors: 5) { store, _, ids in
            let scheduler = Self.scheduler(store, engine: engine, owner: "replica-a")
            // Never checked: due at once (spreading them over the first interval is off here).
            let later = Date()
            #expect(try await scheduler.runPass(now: later) == 5)
            #expect(try await Self.checks(store, ids) == [1, 1, 1, 1, 1])
            let recorded = try await store.healthHistory(connector: ids[0], organization: "acme", page: 1, pageSize: 1).checks
            #expect(recorded.first?.triggeredVia == "schedule" && recorded.first?.code == "connection_refused")
            // Checked: not due again until about an interval later (jitter of a tenth).
            #expect(try await scheduler.runPass(now: later.addingTimeInterval(3000)) == 0)
            #expect(try await scheduler.runPass(now: later.addingTimeInterval(4000)) == 5)
            #expect(try await Self.checks(store, ids) == [2, 2, 2, 2, 2])
        }
    }

    @Test func twoReplicasShareARoundAndCheckEachConnectorOnce() async throws {
        let engine = try Self.engine()
        defer { engine.shutdown() }
        try await Self.withStores(.postgres, connectors: 40) { first, second, ids in
            let a = Self.scheduler(first, engine: engine, owner: "replica-a", batch: 7)
            let b = Self.scheduler(second, engine: engine, owner: "replica-b", batch: 7)
            let now = Date().addingTimeInterval(3600)
            // Both replicas run passes at once until neither finds anything due.
            async let fromA: Int = Self.drain(a, now: now)
            async let fromB: Int = Self.drain(b, now: now)
            let (checkedA, checkedB) = try await (fromA, fromB)
            #expect(checkedA + checkedB == 40)
            #expect(try await Self.checks(first, ids) == Array(repeating: 1, count: 40))
        }
    }

    @Test func concurrentLeasesOfTwoReplicasNeverOverlap() async throws {
        try await Self.withStores(.postgres, connectors: 40) { first, second, ids in
            let now = Date()
            async let a = first.leaseDueConnectors(owner: "replica-a", now: now, lease: .seconds(60), limit: 25) { $0 }
            async let b = second.leaseDueConnectors(owner: "replica-b", now: now, lease: .seconds(60), limit: 25) { $0 }
            let (takenA, takenB) = try await (Set(a.map(\.id)), Set(b.map(\.id)))
            #expect(takenA.isDisjoint(with: takenB))
            #expect(takenA.union(takenB) == Set(ids))
            #expect(takenA.count + takenB.count == 40)
        }
    }

    static func drain(_ scheduler: HealthScheduler, now: Date) async throws -> Int {
        var total = 0
        while true {
            let checked = try await scheduler.runPass(now: now)
            if checked == 0 { return total }
            total += checked
        }
    }

    @Test(arguments: TestDatabase.Kind.allCases)
    func aLeaseItsReplicaNeverCompletedExpiresAndAnotherReplicaTakesIt(_ kind: TestDatabase.Kind) async throws {
        let engine = try Self.engine()
        defer { engine.shutdown() }
        try await Self.withStores(kind, connectors: 3) { first, second, ids in
            let now = Date().addingTimeInterval(3600)
            // A replica takes everything due and dies before checking.
            let taken = try await first.leaseDueConnectors(owner: "dead", now: now, lease: .seconds(60), limit: 100) { $0 }
            #expect(Set(taken.map(\.id)) == Set(ids))
            let survivor = Self.scheduler(second, engine: engine, owner: "replica-b")
            #expect(try await survivor.runPass(now: now.addingTimeInterval(30)) == 0)
            #expect(try await survivor.runPass(now: now.addingTimeInterval(61)) == 3)
            #expect(try await Self.checks(first, ids) == [1, 1, 1])
            // The dead replica's late completion does not move the survivor's schedule.
            #expect(try await !first.completeLease(connector: ids[0], owner: "dead", nextDue: now))
        }
    }
}
