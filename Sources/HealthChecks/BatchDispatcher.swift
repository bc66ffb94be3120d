import ConnectorCore
import ConnectorStore
import Foundation
import ProbeEngine
import Synchronization

/// How much batch checking this process does at once (DESIGN §9).
public struct BatchLimits: Sendable {
    /// Batch checks in flight in this process, all jobs together.
    public var total: Int
    /// Checks in flight against one destination (database host and port, S3 endpoint, Snowflake
    /// account), all jobs and organizations together, so a thousand connectors on one server do
    /// not open a thousand connections at once.
    public var perHost: Int

    public init(total: Int = 64, perHost: Int = 4) {
        self.total = max(1, total)
        self.perHost = max(1, perHost)
    }
}

/// Runs the checks of batch jobs on the engine, choosing what runs next so that:
/// - organizations take turns (one organization's ten thousand connectors do not starve
///   another's single check), and so do destinations within an organization;
/// - no destination has more than ``BatchLimits/perHost`` checks in flight;
/// - two checks with the same credentials never run at once (a lockout policy counts each);
/// - each job stays within its own concurrency and the caller's admission caps (it waits for a
///   place rather than being refused).
public final class BatchDispatcher: Sendable {
    /// Checks one connector for a job (the engine and the store, or a test's stand-in).
    public typealias Check = @Sendable (StoredConnector, HealthJob) async throws -> ProbeReport

    public let limits: BatchLimits
    private let catalog: Catalog
    private let check: Check
    private let admission: TestAdmission?
    private let state = Mutex(State())

    /// Same type and same metadata: the same credentials at the same destination.
    struct CredentialKey: Hashable, Sendable {
        let typeID: String
        let metadata: JSONValue
    }

    struct Item: Sendable {
        let job: HealthJob
        let connector: StoredConnector
        /// Where the per-destination limit applies; "" for destinations without one (cloud APIs).
        let destination: String
        let credential: CredentialKey
    }

    /// The items of one organization, by destination, served in turn.
    struct Queue {
        var buckets: [String: [Item]] = [:]
        var heads: [String: Int] = [:]
        var ring: [String] = []
        var cursor = 0
        var count = 0

        /// Drops an emptied bucket; the bucket after it is the next served.
        mutating func removeBucket(_ destination: String) {
            buckets[destination] = nil
            heads[destination] = nil
            guard let index = ring.firstIndex(of: destination) else { return }
            ring.remove(at: index)
            if cursor > index { cursor -= 1 }
            cursor = ring.isEmpty ? 0 : cursor % ring.count
        }
    }

    struct State {
        var queues: [String: Queue] = [:]
        var ring: [String] = []
        var cursor = 0
        var inFlight = 0
        var destinations: [String: Int] = [:]
        var credentials: Set<CredentialKey> = []
        var jobs: [UUID: Int] = [:]

        /// Drops an emptied organization queue; the organization after it is the next served.
        mutating func removeQueue(_ organization: String) {
            queues[organization] = nil
            guard let index = ring.firstIndex(of: organization) else { return }
            ring.remove(at: index)
            if cursor > index { cursor -= 1 }
            cursor = ring.isEmpty ? 0 : cursor % ring.count
        }
    }

    /// How deep a bucket without a destination limit is searched for credentials not in flight.
    static let lookahead = 32

    public init(catalog: Catalog, limits: BatchLimits = BatchLimits(), admission: TestAdmission? = nil, check: @escaping Check) {
        self.catalog = catalog
        self.check = check
        self.limits = limits
        self.admission = admission
        admission?.onRelease { [weak self] in self?.pump() }
    }

    /// Checks through `checker`: the probe, refreshed tokens written back, the check recorded.
    public convenience init(checker: StoredConnectorChecker, limits: BatchLimits = BatchLimits(), admission: TestAdmission? = nil) {
        self.init(catalog: checker.engine.catalog, limits: limits, admission: admission) { connector, job in
            try await checker.check(connector, timeout: job.timeout, requester: job.requester, trigger: job.trigger)
        }
    }

    /// Queues the checks of `job`, one per connector.
    public func submit(_ job: HealthJob, connectors: [StoredConnector]) {
        let items = connectors.map { connector in
            Item(
                job: job, connector: connector,
                destination: catalog.type(id: connector.typeID)?.destinationKey(connector.metadata) ?? "",
                credential: CredentialKey(typeID: connector.typeID, metadata: connector.metadata))
        }
        guard !items.isEmpty else { return }
        state.withLock { state in
            var queue = state.queues.removeValue(forKey: job.organization) ?? Queue()
            if queue.count == 0 && !state.ring.contains(job.organization) { state.ring.append(job.organization) }
            for item in items {
                if queue.buckets[item.destination] == nil {
                    queue.buckets[item.destination] = []
                    queue.heads[item.destination] = 0
                    queue.ring.append(item.destination)
                }
                queue.buckets[item.destination, default: []].append(item)
            }
            queue.count += items.count
            state.queues[job.organization] = queue
        }
        pump()
    }

    /// Cancels `job` and removes its waiting checks at once (those running are cancelled by the job).
    /// - Returns: false if the job had already ended.
    @discardableResult
    public func cancel(_ job: HealthJob) -> Bool {
        guard job.cancel() else { return false }
        state.withLock { state in
            guard var queue = state.queues.removeValue(forKey: job.organization) else { return }
            for (destination, bucket) in queue.buckets {
                let head = queue.heads[destination]!
                let kept = bucket[head...].filter { $0.job.id != job.id }
                queue.count -= (bucket.count - head) - kept.count
                if kept.isEmpty {
                    queue.removeBucket(destination)
                } else {
                    queue.buckets[destination] = Array(kept)
                    queue.heads[destination] = 0
                }
            }
            if queue.count == 0 {
                state.removeQueue(job.organization)
            } else {
                state.queues[job.organization] = queue
            }
        }
        pump()
        return true
    }

    /// Batch checks in flight.
    public var inFlight: Int { state.withLock { $0.inFlight } }

    /// Starts every check that may run now.
    func pump() {
        while let item = state.withLock({ next(&$0) }) {
            start(item)
        }
    }

    /// The next item that may run, taken with its places; nil when none may.
    private func next(_ state: inout State) -> Item? {
        guard state.inFlight < limits.total else { return nil }
        // Each organization once, from the cursor on (removing one keeps the cursor on the next).
        for _ in 0..<state.ring.count where !state.ring.isEmpty {
            let organization = state.ring[state.cursor]
            state.cursor = (state.cursor + 1) % state.ring.count
            // Taken out while it changes, so that its buckets are not copied on write.
            guard var queue = state.queues.removeValue(forKey: organization) else {
                state.removeQueue(organization)
                continue
            }
            let found = take(from: &queue, state: &state)
            if queue.count == 0 {
                state.removeQueue(organization)
            } else {
                state.queues[organization] = queue
            }
            if let found { return found }
        }
        return nil
    }

    /// An item of one organization that may run, taken from its bucket; skips (and drops) items
    /// of jobs no longer running.
    private func take(from queue: inout Queue, state: inout State) -> Item? {
        // Each destination once, from the cursor on.
        for _ in 0..<queue.ring.count where !queue.ring.isEmpty {
            let destination = queue.ring[queue.cursor]
            queue.cursor = (queue.cursor + 1) % queue.ring.count
            if !destination.isEmpty, state.destinations[destination, default: 0] >= limits.perHost { continue }
            guard var bucket = queue.buckets.removeValue(forKey: destination), var head = queue.heads[destination] else { continue }
            // Items of cancelled jobs leave the queue.
            while head < bucket.count, bucket[head].job.status != .running {
                head += 1
                queue.count -= 1
            }
            var chosen: Int?
            let depth = destination.isEmpty ? Self.lookahead : 1
            var index = head
            while index < bucket.count, index < head + depth {
                let item = bucket[index]
                if item.job.status == .running, !state.credentials.contains(item.credential),
                    state.jobs[item.job.id, default: 0] < item.job.concurrency, admit(item)
                {
                    chosen = index
                    break
                }
                index += 1
            }
            var taken: Item?
            if let chosen {
                taken = bucket[chosen]
                bucket.swapAt(chosen, head)
                head += 1
                queue.count -= 1
            }
            if head >= bucket.count {
                queue.removeBucket(destination)
            } else if head > 1024, head * 2 > bucket.count {
                bucket.removeFirst(head)
                queue.buckets[destination] = bucket
                queue.heads[destination] = 0
            } else {
                queue.buckets[destination] = bucket
                queue.heads[destination] = head
            }
            if let taken {
                state.inFlight += 1
                if !destination.isEmpty { state.destinations[destination, default: 0] += 1 }
                state.credentials.insert(taken.credential)
                state.jobs[taken.job.id, default: 0] += 1
                return taken
            }
        }
        return nil
    }

    private func admit(_ item: Item) -> Bool {
        admission?.admit(user: item.job.requester, organization: item.job.organization) ?? true
    }

    private func start(_ item: Item) {
        let task = Task { [self] in
            defer { finished(item) }
            let connector = item.connector
            do {
                let report = try await check(connector, item.job)
                if report.wasCutByShutdown {
                    item.job.drop(connector.id)
                } else if !Task.isCancelled {
                    item.job.record(HealthJobResult(connector: connector, report: report))
                }
            } catch {
                item.job.drop(connector.id)
            }
        }
        if !item.job.track(task, for: item.connector.id) { task.cancel() }
    }

    private func finished(_ item: Item) {
        state.withLock { state in
            state.inFlight -= 1
            if !item.destination.isEmpty {
                state.destinations[item.destination] = state.destinations[item.destination].flatMap { $0 > 1 ? $0 - 1 : nil }
            }
            state.credentials.remove(item.credential)
            state.jobs[item.job.id] = state.jobs[item.job.id].flatMap { $0 > 1 ? $0 - 1 : nil }
        }
        // The admission's release observer pumps; without admission, pump here.
        if let admission {
            admission.release(user: item.job.requester, organization: item.job.organization)
        } else {
            pump()
        }
    }
}
