import ConnectorStore
import Foundation
import Logging
import ServiceLifecycle

/// Checks every stored connector once per `interval` (`serve --health-interval`), sharing the
/// work with the other replicas of one store through leases: a pass leases the connectors due
/// now, checks them on the batch dispatcher (one job per organization, so organizations take
/// turns) and schedules each one `interval` later, give or take a tenth (jitter, so checks
/// spread out instead of returning in waves).
public struct HealthScheduler: Service {
    public struct Settings: Sendable {
        public var interval: Duration
        /// How often the store is asked for due connectors when none were due.
        public var pollInterval: Duration
        /// Connectors leased in one pass.
        public var batchSize: Int
        /// A lease not completed within this long (its replica died) expires.
        public var lease: Duration
        /// The deadline of each check.
        public var timeout: Duration?
        /// Connectors never checked by the scheduler fall due at random over the first interval
        /// (true), or at once (false).
        public var spreadFirstChecks: Bool

        public init(
            interval: Duration, pollInterval: Duration = .seconds(5), batchSize: Int = 256, lease: Duration = .seconds(300),
            timeout: Duration? = nil, spreadFirstChecks: Bool = true
        ) {
            self.spreadFirstChecks = spreadFirstChecks
            self.interval = interval
            self.pollInterval = pollInterval
            self.batchSize = max(1, batchSize)
            self.lease = lease
            self.timeout = timeout
        }
    }

    let store: ConnectorStore
    let dispatcher: BatchDispatcher
    let settings: Settings
    /// This replica's name in the leases.
    let owner: String
    let logger: Logger

    public init(store: ConnectorStore, dispatcher: BatchDispatcher, settings: Settings, owner: String = UUID().uuidString, logger: Logger) {
        self.store = store
        self.dispatcher = dispatcher
        self.settings = settings
        self.owner = owner
        self.logger = logger
    }

    public func run() async throws {
        await repeatPasses(pause: settings.pollInterval, logger: logger, failure: "scheduled health pass failed") {
            try await runPass(now: Date()) > 0
        }
    }

    /// One pass: leases what is due at `now`, checks it, schedules the next checks.
    /// - Returns: how many connectors were checked.
    @discardableResult
    public func runPass(now: Date) async throws -> Int {
        let interval = Double(settings.interval.components.seconds)
        let due = try await store.leaseDueConnectors(
            owner: owner, now: now, lease: settings.lease, limit: settings.batchSize,
            firstDue: { [spread = settings.spreadFirstChecks] in spread ? $0.addingTimeInterval(Double.random(in: 0..<max(interval, 1))) : $0 })
        guard !due.isEmpty else { return 0 }
        let jobs = Dictionary(grouping: due, by: \.organizationID).map { organization, connectors in
            let job = HealthJob(
                organization: organization, owner: nil, requester: "scheduler", total: connectors.count,
                concurrency: dispatcher.limits.total, timeout: settings.timeout, scheduled: true)
            dispatcher.submit(job, connectors: connectors)
            return job
        }
        var checked = 0
        for job in jobs {
            for await result in job.follow() {
                checked += 1
                let next = now.addingTimeInterval(interval * Double.random(in: 0.9...1.1))
                if try await !store.completeLease(connector: result.connectorID, owner: owner, nextDue: next) {
                    logger.info("health lease lost", metadata: ["connector.id": "\(result.connectorID)"])
                }
            }
        }
        logger.info("scheduled health pass", metadata: ["health.checked": "\(checked)"])
        return checked
    }
}
