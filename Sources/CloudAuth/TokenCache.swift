import Foundation
import LinuxIO
import Synchronization

/// Access tokens by account, shared by every probe of an engine, so a batch fetches one token per
/// account instead of one per probe. Concurrent probes for an account whose token is being
/// fetched wait on an eventfd (a reactor can wait on it like on a socket) instead of fetching too.
public final class TokenCache: Sendable {
    /// Whose token: a hit skips the signature, so the key names what only the key's holder has
    /// (the digest of the public half of the private key supplied, see
    /// ``RS256JWT/publicKeyDigest(privateKeyPEM:)``) and the tenant, not just the public account
    /// e-mail and key id.
    public struct Key: Hashable, Sendable {
        public let account: String
        public let keyID: String
        public let publicKeyDigest: [UInt8]
        public let tenant: String
        public let scope: String
        public let tokenURL: String

        public init(account: String, keyID: String, publicKeyDigest: [UInt8], tenant: String, scope: String, tokenURL: String) {
            self.account = account
            self.keyID = keyID
            self.publicKeyDigest = publicKeyDigest
            self.tenant = tenant
            self.scope = scope
            self.tokenURL = tokenURL
        }
    }

    /// What a probe does next for a key.
    public enum Claim {
        /// A cached token, valid for a while yet.
        case token(String)
        /// Fetch it, then call ``finish(_:token:expiresIn:)`` whatever happens.
        case fetch
        /// Another probe is fetching: wait until `signal` is readable, drain it, claim again.
        case wait(WakeupSignal)
    }

    private enum Slot {
        case ready(token: String, until: ContinuousClock.Instant)
        case fetching(waiters: [WakeupSignal])
    }

    /// Tokens are reused until this long before they expire.
    let margin: Duration
    private let slots = Mutex<[Key: Slot]>([:])
    private let fetchCount = Atomic<Int>(0)

    public init(margin: Duration = .seconds(60)) { self.margin = margin }

    public func claim(_ key: Key) -> Claim {
        let now = ContinuousClock.now
        return slots.withLock { slots -> Claim in
            switch slots[key] {
            case .ready(let token, let until) where until > now:
                return .token(token)
            case .fetching(var waiters):
                guard let signal = try? WakeupSignal() else { return .fetch }
                waiters.append(signal)
                slots[key] = .fetching(waiters: waiters)
                return .wait(signal)
            default:
                slots[key] = .fetching(waiters: [])
                fetchCount.add(1, ordering: .relaxed)
                return .fetch
            }
        }
    }

    /// Ends a fetch: stores the token (or, on failure, nothing) and wakes the waiters.
    public func finish(_ key: Key, token: String?, expiresIn seconds: Int) {
        let waiters = slots.withLock { slots -> [WakeupSignal] in
            guard case .fetching(let waiters) = slots[key] else { return [] }
            if let token, seconds > 0 {
                slots[key] = .ready(token: token, until: ContinuousClock.now.advanced(by: .seconds(seconds)) - margin)
            } else {
                slots[key] = nil
            }
            return waiters
        }
        for waiter in waiters { waiter.signal() }
    }

    /// Token fetches started through this cache (for tests and benchmarks).
    public var fetches: Int { fetchCount.load(ordering: .relaxed) }
}
