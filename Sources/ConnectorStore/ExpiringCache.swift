import Foundation
import Synchronization

/// Recent answers of the store, each kept for `ttl`, so a busy API does not query the database
/// for every request. Writes through this store invalidate what they change at once; a change
/// made by another process (the `admin` CLI, another replica) shows within `ttl`. A zero `ttl`
/// keeps nothing.
///
/// Each key has a generation, bumped by ``forget(_:)`` (and, for every key, by ``clear()``): a
/// read of the database that began before a write's `forget` may have seen the old row, so
/// ``remember(_:for:generation:)`` refuses it.
final class ExpiringCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    let ttl: Duration
    private let limit: Int
    private let state = Mutex(State())

    private struct State {
        var entries: [Key: (Value, ContinuousClock.Instant)] = [:]
        /// Ticks on every forget; a key's generation is the tick of its last forget.
        var clock: UInt64 = 0
        var forgotten: [Key: UInt64] = [:]
        /// Generation of every key not in `forgotten` (raised by `clear` and when `forgotten` is pruned).
        var floor: UInt64 = 0

        func generation(_ key: Key) -> UInt64 { max(forgotten[key] ?? 0, floor) }
    }

    init(ttl: Duration, limit: Int = 50_000) {
        self.ttl = ttl
        self.limit = limit
    }

    /// The cached value, or on a miss the generation to hand to ``remember(_:for:generation:)``
    /// once the database has answered.
    func lookup(_ key: Key) -> (value: Value?, generation: UInt64) {
        guard ttl > .zero else { return (nil, 0) }
        let now = ContinuousClock.now
        return state.withLock { state in
            guard let (value, expiry) = state.entries[key] else { return (nil, state.clock) }
            if expiry <= now {
                state.entries[key] = nil
                return (nil, state.clock)
            }
            return (value, state.clock)
        }
    }

    /// Keeps `value`, read after ``lookup(_:)`` returned `generation`, unless the key was
    /// forgotten since: then the read may predate a write and the value is dropped.
    func remember(_ value: Value, for key: Key, generation: UInt64) {
        guard ttl > .zero else { return }
        let expiry = ContinuousClock.now.advanced(by: ttl)
        state.withLock { state in
            guard state.generation(key) <= generation else { return }
            if state.entries.count >= limit { state.entries.removeAll(keepingCapacity: true) }
            state.entries[key] = (value, expiry)
        }
    }

    func forget(_ key: Key) {
        state.withLock { state in
            state.entries[key] = nil
            state.clock += 1
            if state.forgotten.count >= limit {
                // Every forget so far is at most `clock - 1`: reads that began before now are refused.
                state.forgotten.removeAll(keepingCapacity: true)
                state.floor = state.clock
            } else {
                state.forgotten[key] = state.clock
            }
        }
    }

    func clear() {
        state.withLock { state in
            state.entries.removeAll()
            state.forgotten.removeAll()
            state.clock += 1
            state.floor = state.clock
        }
    }
}

/// Key of a token check: the token's hash and the organization asked about.
struct TokenKey: Hashable, Sendable {
    let tokenHash: Data
    let organization: String
}

/// Key of a connector row.
struct ConnectorKey: Hashable, Sendable {
    let organization: String
    let id: UUID
}
