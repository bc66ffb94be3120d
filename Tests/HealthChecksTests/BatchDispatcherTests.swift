import ConnectorCore
import ConnectorStore
import Foundation
import HealthChecks
import Synchronization
import TestSupport
import Testing

/// A stand-in check that holds every started check until the test releases it, so the test
/// sees exactly what the dispatcher runs at once (no network, no clocks).
final class HeldChecks: Sendable {
    struct Started: Sendable {
        let connector: StoredConnector
        let job: UUID
    }

    private struct State {
        var held: [UUID: CheckedContinuation<Void, Never>] = [:]
        var running: [UUID: StoredConnector] = [:]
        var cancelled: [UUID] = []
        var maxPerHost: [String: Int] = [:]
        var maxRunning = 0
    }

    private let state = Mutex(State())
    let starts: AsyncStream<Started>
    private let startsContinuation: AsyncStream<Started>.Continuation

    init() {
        (starts, startsContinuation) = AsyncStream.makeStream()
    }

    /// The check the dispatcher calls.
    func check(_ connector: StoredConnector, _ job: HealthJob) async -> ProbeReport {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let cancelledAlready = state.withLock { state -> Bool in
                    state.held[connector.id] = continuation
                    state.running[connector.id] = connector
                    state.maxRunning = max(state.maxRunning, state.running.count)
                    let host = connector.metadata["host"]?.stringValue ?? ""
                    let onHost = state.running.values.count { $0.metadata["host"]?.stringValue == host }
                    state.maxPerHost[host] = max(state.maxPerHost[host] ?? 0, onHost)
                    return Task.isCancelled
                }
                startsContinuation.yield(Started(connector: connector, job: job.id))
                if cancelledAlready { release(connector.id, cancelled: true) }
            }
        } onCancel: {
            release(connector.id, cancelled: true)
        }
        return ProbeReport(code: .ok, detail: "")
    }

    /// Lets the held check of `connector` finish.
    func release(_ connector: UUID, cancelled: Bool = false) {
        let continuation = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if cancelled { state.cancelled.append(connector) }
            state.running[connector] = nil
            return state.held.removeValue(forKey: connector)
        }
        continuation?.resume()
    }

    var running: [StoredConnector] { state.withLock { Array($0.running.values) } }
    var maxRunning: Int { state.withLock { $0.maxRunning } }
    var cancelled: [UUID] { state.withLock { $0.cancelled } }
    func maxOn(host: String) -> Int { state.withLock { $0.maxPerHost[host] ?? 0 } }
}

@Suite struct BatchDispatcherTests {
    static let postgres = "postgresql|6db35f45-be11-4fd5-80c5-85c48183afbb"
    static let gcs = "google_cloud_storage|109bbe7b-8861-45eb-8841-7244e833d97b"

    /// `count` PostgreSQL connectors of `organization` (created by `user`), on `host(i)`, each
    /// with its own password unless `samePassword`.
    static func connectors(
        _ count: Int, in store: ConnectorStore, organization: String = "default", user: Int64, prefix: String = "c",
        host: (Int) -> String = { _ in "db.example.test" }, samePassword: Bool = false
    ) async throws -> [StoredConnector] {
        var made: [StoredConnector] = []
        for index in 0..<count {
            let metadata: JSONValue = [
                "host": .string(host(index)), "port": "5432", "database": "d", "user": "u",
                "password": .string(samePassword ? "same" : "p\(index)"),
            ]
            made.append(
                try await store.createConnector(
                    NewConnector(name: "\(prefix)\(index)", typeID: postgres, mode: "DATABASE", metadata: metadata),
                    organization: organization, by: user))
        }
        return made
    }

    /// Every element of `stream`, once it ends.
    /// Follows `job` to its end: it is done with `results` results, and `held` never ran more
    /// than `atOnce` checks at once.
    static func expectDone(_ job: HealthJob, results: Int, held: HeldChecks, atOnce: Int) async {
        #expect(await all(job.follow()).count == results)
        #expect(held.maxRunning == atOnce)
        #expect(job.status == .done)
    }

    static func all<T>(_ stream: AsyncStream<T>) async -> [T] {
        var elements: [T] = []
        for await element in stream { elements.append(element) }
        return elements
    }

    static func job(_ organization: String = "default", total: Int, concurrency: Int = 100) -> HealthJob {
        HealthJob(organization: organization, owner: 1, requester: "1", total: total, concurrency: concurrency, timeout: nil)
    }

    @Test func anotherOrganizationsSingleCheckIsNotStarvedByHundreds() async throws {
        try await TemporaryStore.with { temporary in
            let store = temporary.store
            _ = try await store.createOrganization(id: "other", name: "Other")
            try await store.setMembership(organization: "other", userID: temporary.admin.id, role: .admin)
            let many = try await Self.connectors(200, in: store, user: temporary.admin.id, host: { "db\($0).example.test" })
            let single = try await Self.connectors(1, in: store, organization: "other", user: temporary.admin.id, prefix: "lone")
            let held = HeldChecks()
            let dispatcher = BatchDispatcher(catalog: .builtin, limits: BatchLimits(total: 4, perHost: 4)) { try await held.check($0, $1) }
            let big = Self.job(total: many.count)
            dispatcher.submit(big, connectors: many)
            var starts = held.starts.makeAsyncIterator()
            for _ in 0..<4 { _ = await starts.next() }
            let small = Self.job("other", total: 1)
            dispatcher.submit(small, connectors: single)
            #expect(held.running.count == 4)  // full: the lone check waits for a place
            // The organizations take turns: of the next two places, one goes to the lone check.
            var next: [UUID] = []
            for connector in held.running.prefix(2) {
                held.release(connector.id)
                next.append(try #require(await starts.next()).job)
            }
            #expect(next.contains(small.id))
            dispatcher.cancel(big)
            held.running.forEach { held.release($0.id) }
        }
    }

    @Test func oneDestinationGetsAtMostPerHostChecksAndOthersGoOn() async throws {
        try await TemporaryStore.with { temporary in
            let crowded = try await Self.connectors(12, in: temporary.store, user: temporary.admin.id, prefix: "crowded")
            let spread = try await Self.connectors(6, in: temporary.store, user: temporary.admin.id, prefix: "spread", host: { "h\($0).test" })
            let held = HeldChecks()
            let dispatcher = BatchDispatcher(catalog: .builtin, limits: BatchLimits(total: 8, perHost: 2)) { try await held.check($0, $1) }
            let job = Self.job(total: 18)
            dispatcher.submit(job, connectors: crowded + spread)
            var starts = held.starts.makeAsyncIterator()
            // 2 on the crowded host and the 6 others fill the 8 places.
            for _ in 0..<8 { _ = await starts.next() }
            #expect(held.running.count(where: { $0.metadata["host"]?.stringValue == "db.example.test" }) == 2)
            // Each crowded check that ends lets exactly one more of that host start.
            for _ in 0..<10 {
                let crowdedRunning = try #require(held.running.first { $0.metadata["host"]?.stringValue == "db.example.test" })
                held.release(crowdedRunning.id)
                let next = try #require(await starts.next())
                #expect(next.connector.metadata["host"]?.stringValue == "db.example.test")
            }
            #expect(held.maxOn(host: "db.example.test") == 2)
            for connector in held.running { held.release(connector.id) }
            let results = await Self.all(job.follow())
            #expect(results.count == 18)
        }
    }

    @Test func theSameCredentialsAreNeverCheckedTwiceAtOnce() async throws {
        try await TemporaryStore.with { temporary in
            // Same host, port, user and password: one credential, five connectors.
            let twins = try await Self.connectors(5, in: temporary.store, user: temporary.admin.id, samePassword: true)
            let held = HeldChecks()
            let dispatcher = BatchDispatcher(catalog: .builtin, limits: BatchLimits(total: 8, perHost: 8)) { try await held.check($0, $1) }
            let job = Self.job(total: 5)
            dispatcher.submit(job, connectors: twins)
            var starts = held.starts.makeAsyncIterator()
            for round in 1...5 {
                _ = await starts.next()
                #expect(held.running.count == 1, "round \(round)")
                held.release(try #require(held.running.first).id)
            }
            await Self.expectDone(job, results: 5, held: held, atOnce: 1)
        }
    }

    @Test func aJobKeepsToItsConcurrencyAndTheCallersAdmissionCap() async throws {
        try await TemporaryStore.with { temporary in
            let connectors = try await Self.connectors(10, in: temporary.store, user: temporary.admin.id, host: { "h\($0).test" })
            let held = HeldChecks()
            let admission = TestAdmission(limits: TestLimits(perUser: 3, perOrganization: 100))
            let dispatcher = BatchDispatcher(catalog: .builtin, limits: BatchLimits(total: 64), admission: admission) {
                try await held.check($0, $1)
            }
            // An interactive test holds one of the user's three places.
            #expect(admission.admit(user: "1", organization: "default"))
            let job = Self.job(total: 10, concurrency: 5)
            dispatcher.submit(job, connectors: connectors)
            var starts = held.starts.makeAsyncIterator()
            for _ in 0..<2 { _ = await starts.next() }
            #expect(held.running.count == 2)
            // The interactive test ends: its place goes to the job at once.
            admission.release(user: "1", organization: "default")
            _ = await starts.next()
            #expect(held.running.count == 3)
            // Each check that ends gives its place to the next, never more than three at once.
            for _ in 0..<7 {
                held.release(try #require(held.running.first).id)
                _ = await starts.next()
            }
            for connector in held.running { held.release(connector.id) }
            await Self.expectDone(job, results: 10, held: held, atOnce: 3)
        }
    }

    @Test func cancellingAJobCancelsItsRunningChecksAndStartsNoMore() async throws {
        try await TemporaryStore.with { temporary in
            let connectors = try await Self.connectors(20, in: temporary.store, user: temporary.admin.id, host: { "h\($0).test" })
            let held = HeldChecks()
            let dispatcher = BatchDispatcher(catalog: .builtin, limits: BatchLimits(total: 3)) { try await held.check($0, $1) }
            let job = Self.job(total: 20)
            let stream = job.follow()
            dispatcher.submit(job, connectors: connectors)
            var starts = held.starts.makeAsyncIterator()
            for _ in 0..<3 { _ = await starts.next() }
            #expect(dispatcher.cancel(job))
            #expect(!dispatcher.cancel(job))
            let followed = await Self.all(stream)
            #expect(followed.isEmpty)
            #expect(job.status == .cancelled)
            // The three running checks saw the cancellation; nothing else started.
            #expect(held.running.isEmpty)
            #expect(Set(held.cancelled).count == 3)
            let later = BatchDispatcherTests.job(total: 1)
            dispatcher.submit(later, connectors: [connectors[19]])
            let next = try #require(await starts.next())
            #expect(next.job == later.id)
            held.release(next.connector.id)
        }
    }
}
