import ConnectorCore
import Dispatch
import Foundation
import LinuxIO
import Synchronization
import Testing

@testable import ProbeEngine

/// Issue 8 §9: name lookups are shared fairly between organizations and users.
@Suite struct LookupQueueTests {
    static func job(_ organization: String, _ user: String) -> LookupQueue.Job {
        LookupQueue.Job(organization: organization, user: user, run: {})
    }

    @Test func organizationsTakeTurns() {
        var queue = LookupQueue(limits: LookupLimits(perOrganization: 8, perUser: 8))
        for _ in 0..<100 { queue.enqueue(Self.job("a", "1")) }
        queue.enqueue(Self.job("b", "2"))
        // The flood's second lookup waits behind the other organization's first.
        #expect(queue.next()?.organization == "a")
        #expect(queue.next()?.organization == "b")
        #expect(queue.next()?.organization == "a")
    }

    @Test func anOrganizationAndAUserHaveAtMostTheirLimitInFlight() {
        var queue = LookupQueue(limits: LookupLimits(perOrganization: 3, perUser: 2))
        for _ in 0..<5 { queue.enqueue(Self.job("a", "1")) }
        queue.enqueue(Self.job("a", "2"))
        var running = [queue.next(), queue.next()].compactMap { $0 }
        #expect(running.map(\.user) == ["1", "1"])
        // User 1 is at its limit: user 2 runs although queued last; then the organization is full.
        let third = queue.next()
        #expect(third?.user == "2")
        #expect(queue.next() == nil)
        running.append(third!)
        queue.finished(running[0])
        #expect(queue.next()?.user == "1")
        #expect(queue.next() == nil)
    }

    /// A long line keeps its order through the front being dropped as it is served.
    @Test func oneUsersLongLineIsServedInArrivalOrder() {
        var queue = LookupQueue(limits: LookupLimits(perOrganization: 8, perUser: 1))
        let order = Mutex<[Int]>([])
        for index in 0..<1000 {
            queue.enqueue(LookupQueue.Job(organization: "a", user: "1", run: { order.withLock { $0.append(index) } }))
        }
        while let job = queue.next() {
            #expect(queue.next() == nil)
            job.run()
            queue.finished(job)
        }
        #expect(order.withLock { $0 } == Array(0..<1000))
        #expect(queue.isEmpty)
    }

    @Test func drainingReturnsEveryWaitingJob() {
        var queue = LookupQueue(limits: LookupLimits(perOrganization: 1, perUser: 1))
        for organization in ["a", "a", "b"] { queue.enqueue(Self.job(organization, "u")) }
        #expect(queue.drain().count == 3)
        #expect(queue.isEmpty)
    }
}

@Suite struct LookupFairnessTests {
    static let postgres = "postgresql|6db35f45-be11-4fd5-80c5-85c48183afbb"

    static func request(host: String, tenant: String, timeout: Duration) -> ProbeRequest {
        ProbeRequest(
            connectorID: postgres, metadata: ["host": .string(host), "port": "5432", "database": "d", "user": "u", "password": "p"],
            timeout: timeout, tenant: tenant, requester: tenant + "-user")
    }

    /// One organization's flood of slow lookups holds every thread it may, and another
    /// organization's single lookup still runs at once.
    @Test func aFloodOfSlowLookupsDoesNotStarveAnotherTenant() async throws {
        let release = DispatchSemaphore(value: 0)
        let seen = Mutex<[Int]>([])
        let configuration = EngineConfiguration(
            reactorThreads: 1, blockingThreads: 16, lookupLimits: LookupLimits(perOrganization: 8, perUser: 8),
            lookup: { host, within in
                seen.withLock { $0.append(within) }
                guard host.hasPrefix("slow") else { return .notFound }
                // Blocks like a resolver that does not answer, until the test lets it go or the
                // probe's time is up.
                _ = release.wait(timeout: .now() + .milliseconds(within))
                return .notFound
            })
        let engine = try ProbeEngine(configuration: configuration, drivers: [.postgresql: PipeDriver()])
        defer { engine.shutdown() }
        let flood = Task {
            await withTaskGroup(of: OutcomeCode.self) { group in
                for index in 0..<64 {
                    group.addTask { await engine.test(Self.request(host: "slow-\(index).example", tenant: "a", timeout: .seconds(20))).code }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
        }
        // Wait until the flood holds its share of the lookup threads.
        while seen.withLock({ $0.count }) < 8 { await Task.yield() }
        let other = await engine.test(Self.request(host: "fast.example", tenant: "b", timeout: .seconds(3)))
        #expect(other.code == .hostNotFound)
        #expect(seen.withLock { $0.count } == 9, "the flood must not get more than its 8 lookups at once")
        for _ in 0..<64 { release.signal() }
        let codes = await flood.value
        #expect(codes.count == 64 && codes.allSatisfy { $0 == .hostNotFound })
    }

    /// A lookup is given no more time than its probe has left.
    @Test func aLookupNeverOutlivesItsProbe() async throws {
        let given = Mutex<[Int]>([])
        let configuration = EngineConfiguration(
            reactorThreads: 1, blockingThreads: 2,
            lookup: { _, within in
                given.withLock { $0.append(within) }
                return .notFound
            })
        let engine = try ProbeEngine(configuration: configuration, drivers: [.postgresql: PipeDriver()])
        defer { engine.shutdown() }
        _ = await engine.test(Self.request(host: "name.example", tenant: "a", timeout: .milliseconds(800)))
        let within = try #require(given.withLock { $0.first })
        #expect(within > 0 && within <= 800)
    }
}
