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
/// and a user each have at most a few lookups in flight. A pure value: the pool that owns it
/// holds the lock.
struct LookupQueue {
    struct Job {
        var organization: String
        var user: String
        var run: @Sendable () -> Void
    }

    let limits: LookupLimits
    private var queues: [String: [Job]] = [:]
    /// Organizations with waiting jobs, in turn order; `cursor` is the next one's index.
    private var turns: [String] = []
    private var cursor = 0
    private var inFlightByOrganization: [String: Int] = [:]
    private var inFlightByUser: [String: Int] = [:]

    init(limits: LookupLimits) {
        self.limits = limits
    }

    var isEmpty: Bool { turns.isEmpty }

    mutating func enqueue(_ job: Job) {
        if queues[job.organization, default: []].isEmpty { turns.append(job.organization) }
        queues[job.organization, default: []].append(job)
    }

    /// The next job whose organization and user are below their limits, taking organizations in
    /// turn; counted as in flight until ``finished(_:)``. `nil` when none may run now.
    mutating func next() -> Job? {
        for step in 0..<turns.count {
            let index = (cursor + step) % turns.count
            let organization = turns[index]
            guard inFlightByOrganization[organization, default: 0] < limits.perOrganization,
                let position = queues[organization]?.firstIndex(where: { inFlightByUser[key($0), default: 0] < limits.perUser })
            else { continue }
            let job = queues[organization]!.remove(at: position)
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

    /// Every waiting job, limits aside (the pool is stopping), in turn order.
    mutating func drain() -> [Job] {
        defer { (queues, turns, cursor) = ([:], [], 0) }
        return turns.flatMap { queues[$0] ?? [] }
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
