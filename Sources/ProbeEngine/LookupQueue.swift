/// Name lookups in flight at once, per organization and per user.
public struct LookupLimits: Sendable, Equatable {
    public var perOrganization: Int
    public var perUser: Int

    public init(perOrganization: Int = 8, perUser: Int = 4) {
        self.perOrganization = max(1, perOrganization)
        self.perUser = max(1, perUser)
    }
}

/// Name lookups waiting for a blocking thread, served so that no tenant starves another: each
/// organization has its own queue, the queues take turns (round-robin), and an organization
/// and a user each have at most a few lookups in flight. Within an organization the oldest job
/// whose user is below the limit goes first. Each user's jobs wait in their own line, so taking
/// the next job costs the organization's number of waiting users, not its number of jobs (a
/// batch of 10,000 names stays linear). A pure value: the pool that owns it holds the lock.
struct LookupQueue {
    struct Job {
        var organization: String
        var user: String
        var run: @Sendable () -> Void
        /// Arrival order, set by ``LookupQueue/enqueue(_:)``.
        fileprivate(set) var sequence: UInt64 = 0
    }

    /// One user's waiting jobs, oldest first; taken from the front without moving the rest.
    private struct Line {
        private var jobs: [Job] = []
        private var head = 0

        var first: Job? { head < jobs.count ? jobs[head] : nil }
        var remaining: ArraySlice<Job> { jobs[head...] }

        mutating func append(_ job: Job) { jobs.append(job) }

        mutating func removeFirst() -> Job {
            let job = jobs[head]
            head += 1
            // Drop the taken prefix once it is most of the storage: amortized O(1).
            if head > 32, head * 2 > jobs.count {
                jobs.removeFirst(head)
                head = 0
            }
            return job
        }
    }

    let limits: LookupLimits
    /// Waiting jobs by organization, then by user.
    private var queues: [String: [String: Line]] = [:]
    /// Organizations with waiting jobs, in turn order; `cursor` is the next one's index.
    private var turns: [String] = []
    private var cursor = 0
    private var arrivals: UInt64 = 0
    private var inFlightByOrganization: [String: Int] = [:]
    private var inFlightByUser: [String: Int] = [:]

    init(limits: LookupLimits) {
        self.limits = limits
    }

    var isEmpty: Bool { turns.isEmpty }

    mutating func enqueue(_ job: Job) {
        var job = job
        arrivals += 1
        job.sequence = arrivals
        if queues[job.organization] == nil {
            queues[job.organization] = [:]
            turns.append(job.organization)
        }
        queues[job.organization]![job.user, default: Line()].append(job)
    }

    /// The next job whose organization and user are below their limits, taking organizations in
    /// turn; counted as in flight until ``finished(_:)``. `nil` when none may run now.
    mutating func next() -> Job? {
        for step in 0..<turns.count {
            let index = (cursor + step) % turns.count
            let organization = turns[index]
            guard inFlightByOrganization[organization, default: 0] < limits.perOrganization,
                let user = oldestEligibleUser(in: organization)
            else { continue }
            let job = queues[organization]![user]!.removeFirst()
            if queues[organization]![user]!.first == nil { queues[organization]![user] = nil }
            inFlightByOrganization[organization, default: 0] += 1
            inFlightByUser[key(job), default: 0] += 1
            if queues[organization]!.isEmpty {
                queues[organization] = nil
                turns.remove(at: index)
                cursor = turns.isEmpty ? 0 : index % turns.count
            } else {
                cursor = (index + 1) % turns.count
            }
            return job
        }
        return nil
    }

    /// The user of `organization` below the per-user limit whose waiting job arrived first.
    private func oldestEligibleUser(in organization: String) -> String? {
        var best: (user: String, sequence: UInt64)?
        for (user, line) in queues[organization] ?? [:] {
            guard let first = line.first, inFlightByUser[key(first), default: 0] < limits.perUser else { continue }
            if best == nil || first.sequence < best!.sequence { best = (user, first.sequence) }
        }
        return best?.user
    }

    /// Every waiting job, limits aside (the pool is stopping): organizations in turn order, each
    /// organization's jobs in arrival order.
    mutating func drain() -> [Job] {
        defer { (queues, turns, cursor) = ([:], [], 0) }
        return turns.flatMap { organization in
            (queues[organization] ?? [:]).values.flatMap(\.remaining).sorted { $0.sequence < $1.sequence }
        }
    }

    mutating func finished(_ job: Job) {
        inFlightByOrganization[job.organization, default: 1] -= 1
        if inFlightByOrganization[job.organization] == 0 { inFlightByOrganization[job.organization] = nil }
        inFlightByUser[key(job), default: 1] -= 1
        if inFlightByUser[key(job)] == 0 { inFlightByUser[key(job)] = nil }
    }

    /// A user is counted within their organization.
    private func key(_ job: Job) -> String { job.organization + "\u{0}" + job.user }
}
