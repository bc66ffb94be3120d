import Synchronization

/// Caps on credential tests running at once, per user and per organization (DESIGN §6): a test
/// over either cap is answered 429 with `Retry-After` instead of queueing.
public struct TestLimits: Sendable {
    public var perUser: Int
    public var perOrganization: Int
    /// Seconds a refused caller is told to wait.
    public var retryAfterSeconds: Int

    public init(perUser: Int = 64, perOrganization: Int = 256, retryAfterSeconds: Int = 1) {
        self.perUser = perUser
        self.perOrganization = perOrganization
        self.retryAfterSeconds = retryAfterSeconds
    }
}

/// Counts the tests in flight per user and per organization against ``TestLimits``.
public final class TestAdmission: Sendable {
    public let limits: TestLimits
    private let counts = Mutex<(users: [String: Int], organizations: [String: Int])>(([:], [:]))
    /// Called after every release (a batch waiting for a place tries again).
    private let releaseObservers = Mutex<[@Sendable () -> Void]>([])

    public init(limits: TestLimits) {
        self.limits = limits
    }

    /// Takes a place for one test, or returns false when the user or the organization is at its cap.
    public func admit(user: String, organization: String) -> Bool {
        counts.withLock { counts in
            guard counts.users[user, default: 0] < limits.perUser,
                counts.organizations[organization, default: 0] < limits.perOrganization
            else { return false }
            counts.users[user, default: 0] += 1
            counts.organizations[organization, default: 0] += 1
            return true
        }
    }

    /// Gives back the place taken by ``admit(user:organization:)``.
    public func release(user: String, organization: String) {
        counts.withLock { counts in
            counts.users[user] = counts.users[user].flatMap { $0 > 1 ? $0 - 1 : nil }
            counts.organizations[organization] = counts.organizations[organization].flatMap { $0 > 1 ? $0 - 1 : nil }
        }
        for observer in releaseObservers.withLock({ $0 }) { observer() }
    }

    /// Registers `observer` to run after every ``release(user:organization:)``.
    public func onRelease(_ observer: @escaping @Sendable () -> Void) {
        releaseObservers.withLock { $0.append(observer) }
    }

    /// Tests in flight for one organization.
    public func inFlight(organization: String) -> Int {
        counts.withLock { $0.organizations[organization, default: 0] }
    }
}
