import ConnectorCore
import Foundation
import Synchronization
import Testing

@testable import ConnectorStore

@Suite struct ReadCacheTests {
    /// The race of issue 8, one step at a time: a read misses, a write commits and forgets the
    /// key, then the read (which may have seen the old row) offers its value.
    @Test func aReadThatBeganBeforeAForgetIsNotKept() {
        let cache = ExpiringCache<String, String>(ttl: .seconds(3600))
        let (miss, generation) = cache.lookup("k")
        #expect(miss == nil)
        cache.forget("k")
        cache.remember("old", for: "k", generation: generation)
        #expect(cache.lookup("k").value == nil)
        // A read that began after the forget is kept; another key's forget does not refuse it.
        let after = cache.lookup("k").generation
        cache.forget("j")
        cache.remember("new", for: "k", generation: after)
        #expect(cache.lookup("k").value == "new")
        // clear() refuses every read that began before it.
        let beforeClear = cache.lookup("i").generation
        cache.clear()
        cache.remember("stale", for: "i", generation: beforeClear)
        #expect(cache.lookup("i").value == nil)
        #expect(cache.lookup("k").value == nil)
    }

    @Test func pruningTheGenerationsStillRefusesOlderReads() {
        let cache = ExpiringCache<Int, Int>(ttl: .seconds(3600), limit: 4)
        let early = cache.lookup(0).generation
        for key in 0..<10 { cache.forget(key) }
        cache.remember(1, for: 0, generation: early)
        #expect(cache.lookup(0).value == nil)
        let late = cache.lookup(0).generation
        cache.remember(2, for: 0, generation: late)
        #expect(cache.lookup(0).value == 2)
    }

    /// Issue 8 end to end: readers loop on a connector while its owner removes every share, and
    /// then while the owner deletes it. Once the write has returned, the cache (kept an hour
    /// here) must not answer with the row as it was before.
    @Test(arguments: Backend.allCases)
    func readsRacingAnUnshareOrADeleteDoNotRefillTheCache(_ backend: Backend) async throws {
        try await StoreHarness.withPopulatedStore(backend, readCacheTTL: .seconds(3600)) { store, people in
            let metadata: JSONValue = ["host": "db.example", "port": "5432", "user": "app", "password": "pw", "database": "app"]
            let created = try await store.createConnector(
                NewConnector(name: "raced", typeID: "postgresql|6db35f45-be11-4fd5-80c5-85c48183afbb", mode: "DATABASE", metadata: metadata),
                organization: "acme", by: people.alice.id)
            @Sendable func share(_ users: [Int64]) async throws {
                _ = try await store.updateConnector(
                    id: created.id, organization: "acme", by: people.alice.id, change: ConnectorChange(sharedUsers: users),
                    merge: { _ in nil })
            }
            for round in 0..<60 {
                try await share([people.bob.id])
                try await whileReadersLoop(on: created.id, in: store) { try await share([]) }
                let after = try await store.connector(id: created.id, organization: "acme")
                #expect(after?.sharedUsers == [], "round \(round): the cache kept the shared row")
                if after?.sharedUsers != [] { break }
            }
            try await whileReadersLoop(on: created.id, in: store) {
                try await store.deleteConnector(id: created.id, organization: "acme", by: people.alice.id)
            }
            #expect(try await store.connector(id: created.id, organization: "acme") == nil)
        }
    }

    /// Runs `write` while `readers` tasks read the connector by id in a loop; returns once the
    /// write and every reader have finished.
    private func whileReadersLoop(
        on id: UUID, in store: ConnectorStore, readers: Int = 32, _ write: @Sendable () async throws -> Void
    ) async throws {
        let stop = StopFlag()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<readers {
                group.addTask {
                    while !stop.isRaised {
                        _ = try await store.connector(id: id, organization: "acme")
                        await Task.yield()
                    }
                }
            }
            do {
                try await write()
            } catch {
                stop.raise()
                throw error
            }
            stop.raise()
            try await group.waitForAll()
        }
    }
}

/// A flag one task raises and others poll.
private final class StopFlag: Sendable {
    private let raised = Atomic<Bool>(false)
    var isRaised: Bool { raised.load(ordering: .acquiring) }
    func raise() { raised.store(true, ordering: .releasing) }
}
