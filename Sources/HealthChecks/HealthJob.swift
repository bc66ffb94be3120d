import ConnectorCore
import ConnectorStore
import Foundation
import Synchronization

/// The verdict on one connector of a batch job.
public struct HealthJobResult: Sendable {
    public let connectorID: UUID
    public let name: String
    /// The catalog id.
    public let typeID: String
    public let report: ProbeReport
    public let checkedAt: Date

    public init(connector: StoredConnector, report: ProbeReport, checkedAt: Date = Date()) {
        self.connectorID = connector.id
        self.name = connector.name
        self.typeID = connector.typeID
        self.report = report
        self.checkedAt = checkedAt
    }

    /// The wire form: the connector (`id`, `connector_name`, `connector_id` as in the connector
    /// object) and the verdict (`is_valid`, `code`, `status`, `stage`, `attr`, `detail`, `stages`,
    /// `elapsed_ms`, `warnings`).
    public var json: JSONValue {
        // The verdict's fields as the `probe` object renders them, built once.
        let probe = report.probeJSON
        return [
            "id": .string(connectorID.uuidString.lowercased()), "connector_name": .string(name), "connector_id": .string(typeID),
            "is_valid": .bool(report.isValid), "code": probe["code"] ?? .null, "status": .number(Double(report.status)),
            "stage": probe["stage"] ?? .null, "attr": probe["attr"] ?? .null, "detail": .string(report.isValid ? "" : report.detail),
            "stages": probe["stages"] ?? [:], "elapsed_ms": probe["elapsed_ms"] ?? .null, "warnings": probe["warnings"] ?? [],
        ]
    }
}

/// A batch check of stored connectors: what it covers, its results as they arrive, and the
/// streams that follow it. Results are kept in memory on the replica that runs the job.
public final class HealthJob: Sendable {
    public enum Status: String, Sendable {
        case running, done, cancelled
    }

    public let id: UUID
    public let organization: String
    /// The user who started it (nil: the CLI); only they can see it.
    public let owner: Int64?
    /// Whom the probes count against (admission caps, lookup fairness).
    public let requester: String
    /// Checks running at once for this job.
    public let concurrency: Int
    public let timeout: Duration?
    public let createdAt: Date
    /// Started by the scheduler rather than by a user or the CLI.
    public let scheduled: Bool

    /// What the history records as having started the job's checks.
    public var trigger: HealthTrigger { scheduled ? .schedule : .job(id: id, user: owner) }

    private struct State {
        var status: Status = .running
        var total: Int
        var results: [HealthJobResult] = []
        var counts: [String: Int] = [:]
        var finishedAt: Date?
        var tasks: [UUID: Task<Void, Never>] = [:]
        var followers: [UUID: AsyncStream<HealthJobResult>.Continuation] = [:]
    }

    private let state: Mutex<State>

    public init(
        organization: String, owner: Int64?, requester: String, total: Int, concurrency: Int, timeout: Duration?, scheduled: Bool = false,
        createdAt: Date = Date()
    ) {
        self.id = UUID()
        self.scheduled = scheduled
        self.organization = organization
        self.owner = owner
        self.requester = requester
        self.concurrency = max(1, concurrency)
        self.timeout = timeout
        self.createdAt = createdAt
        self.state = Mutex(State(status: total == 0 ? .done : .running, total: total, finishedAt: total == 0 ? createdAt : nil))
    }

    /// What the job's status route shows.
    public struct Snapshot: Sendable {
        public let status: Status
        public let total: Int
        public let results: [HealthJobResult]
        /// Results per outcome code.
        public let counts: [String: Int]
        public let finishedAt: Date?
    }

    public var snapshot: Snapshot {
        state.withLock { Snapshot(status: $0.status, total: $0.total, results: $0.results, counts: $0.counts, finishedAt: $0.finishedAt) }
    }

    public var status: Status { state.withLock { $0.status } }

    public var finishedAt: Date? { state.withLock { $0.finishedAt } }

    /// The results so far, then each new one as it arrives; ends when the job ends.
    public func follow() -> AsyncStream<HealthJobResult> {
        let (stream, continuation) = AsyncStream<HealthJobResult>.makeStream(bufferingPolicy: .unbounded)
        let follower = UUID()
        state.withLock { state in
            for result in state.results { continuation.yield(result) }
            if state.status == .running {
                state.followers[follower] = continuation
            } else {
                continuation.finish()
            }
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.followers.removeValue(forKey: follower) }
        }
        return stream
    }

    /// Adds a verdict; the job is done once every connector has one.
    func record(_ result: HealthJobResult) {
        let followers = state.withLock { state -> [AsyncStream<HealthJobResult>.Continuation] in
            guard state.status == .running else { return [] }
            state.results.append(result)
            state.counts[result.report.code.rawValue, default: 0] += 1
            state.tasks[result.connectorID] = nil
            let all = Array(state.followers.values)
            for follower in all { follower.yield(result) }
            return finishIfComplete(&state) ? all : []
        }
        followers.forEach { $0.finish() }
    }

    /// A connector that went away before its check (deleted): it leaves the job's total.
    func drop(_ connector: UUID) {
        let followers = state.withLock { state -> [AsyncStream<HealthJobResult>.Continuation] in
            guard state.status == .running else { return [] }
            state.total -= 1
            state.tasks[connector] = nil
            return finishIfComplete(&state) ? Array(state.followers.values) : []
        }
        followers.forEach { $0.finish() }
    }

    private func finishIfComplete(_ state: inout State) -> Bool {
        guard state.results.count >= state.total else { return false }
        state.status = .done
        state.finishedAt = Date()
        return true
    }

    /// Keeps the task checking `connector`, so that cancelling the job cancels it; false if the
    /// job no longer runs (the caller cancels the task itself).
    func track(_ task: Task<Void, Never>, for connector: UUID) -> Bool {
        state.withLock { state in
            guard state.status == .running else { return false }
            state.tasks[connector] = task
            return true
        }
    }

    /// Stops the job: no further check starts, those running are cancelled (their probes closed).
    /// - Returns: false if it had already ended.
    @discardableResult
    public func cancel() -> Bool {
        let taken = state.withLock { state -> ([Task<Void, Never>], [AsyncStream<HealthJobResult>.Continuation])? in
            guard state.status == .running else { return nil }
            state.status = .cancelled
            state.finishedAt = Date()
            let tasks = Array(state.tasks.values)
            state.tasks = [:]
            let followers = Array(state.followers.values)
            state.followers = [:]
            return (tasks, followers)
        }
        guard let (tasks, followers) = taken else { return false }
        tasks.forEach { $0.cancel() }
        followers.forEach { $0.finish() }
        return true
    }
}

/// The jobs of this process by id. Finished jobs stay readable for `retention`, and at most
/// `maxFinished` of them are kept.
public final class HealthJobs: Sendable {
    private let jobs = Mutex<[UUID: HealthJob]>([:])
    public let retention: Duration
    public let maxFinished: Int

    public init(retention: Duration = .seconds(3600), maxFinished: Int = 100) {
        self.retention = retention
        self.maxFinished = maxFinished
    }

    public func add(_ job: HealthJob) {
        jobs.withLock { jobs in
            prune(&jobs, now: Date())
            jobs[job.id] = job
        }
    }

    public func job(_ id: UUID) -> HealthJob? {
        jobs.withLock { $0[id] }
    }

    /// Jobs still running (a shutdown cancels them).
    public var running: [HealthJob] {
        jobs.withLock { $0.values.filter { $0.status == .running } }
    }

    private func prune(_ jobs: inout [UUID: HealthJob], now: Date) {
        let horizon = now.addingTimeInterval(-Double(retention.components.seconds))
        var finished = jobs.values.compactMap { job in job.finishedAt.map { (job.id, $0) } }
        for (id, at) in finished where at < horizon { jobs[id] = nil }
        finished.removeAll { $0.1 < horizon }
        if finished.count >= maxFinished {
            for (id, _) in finished.sorted(by: { $0.1 < $1.1 }).prefix(finished.count - maxFinished + 1) { jobs[id] = nil }
        }
    }
}
