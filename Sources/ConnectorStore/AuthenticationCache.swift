import Foundation
import Synchronization

/// Recent token checks, so a busy API does not query the store for every request. Only answers
/// for valid tokens are kept (an unknown token always reaches the store), each for `ttl`;
/// revoking a token or changing a membership through this store clears the cache at once, while
/// a change made by another process (the `admin` CLI, another replica) shows within `ttl`.
final class AuthenticationCache: Sendable {
    private struct Key: Hashable {
        let tokenHash: Data
        let organization: String
    }

    let ttl: Duration
    private let limit = 50_000
    private let entries = Mutex<[Key: (Authentication, ContinuousClock.Instant)]>([:])

    init(ttl: Duration) { self.ttl = ttl }

    func lookup(tokenHash: Data, organization: String) -> Authentication? {
        guard ttl > .zero else { return nil }
        let key = Key(tokenHash: tokenHash, organization: organization)
        let now = ContinuousClock.now
        return entries.withLock { entries in
            guard let (answer, expiry) = entries[key] else { return nil }
            if expiry <= now {
                entries[key] = nil
                return nil
            }
            return answer
        }
    }

    func remember(_ answer: Authentication, tokenHash: Data, organization: String) {
        guard ttl > .zero, answer != .invalidToken else { return }
        let key = Key(tokenHash: tokenHash, organization: organization)
        let expiry = ContinuousClock.now.advanced(by: ttl)
        entries.withLock { entries in
            if entries.count >= limit { entries.removeAll(keepingCapacity: true) }
            entries[key] = (answer, expiry)
        }
    }

    func clear() { entries.withLock { $0.removeAll() } }
}
