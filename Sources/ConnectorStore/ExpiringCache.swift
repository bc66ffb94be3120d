import Foundation
import Synchronization

/// Recent answers of the store, each kept for `ttl`, so a busy API does not query the database
/// for every request. Writes through this store invalidate what they change at once; a change
/// made by another process (the `admin` CLI, another replica) shows within `ttl`. A zero `ttl`
/// keeps nothing.
final class ExpiringCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    let ttl: Duration
    private let limit: Int
    private let entries = Mutex<[Key: (Value, ContinuousClock.Instant)]>([:])

    init(ttl: Duration, limit: Int = 50_000) {
        self.ttl = ttl
        self.limit = limit
    }

    func lookup(_ key: Key) -> Value? {
        guard ttl > .zero else { return nil }
        let now = ContinuousClock.now
        return entries.withLock { entries in
            guard let (value, expiry) = entries[key] else { return nil }
            if expiry <= now {
                entries[key] = nil
                return nil
            }
            return value
        }
    }

    func remember(_ value: Value, for key: Key) {
        guard ttl > .zero else { return }
        let expiry = ContinuousClock.now.advanced(by: ttl)
        entries.withLock { entries in
            if entries.count >= limit { entries.removeAll(keepingCapacity: true) }
            entries[key] = (value, expiry)
        }
    }

    func forget(_ key: Key) { _ = entries.withLock { $0.removeValue(forKey: key) } }

    func clear() { entries.withLock { $0.removeAll() } }
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
