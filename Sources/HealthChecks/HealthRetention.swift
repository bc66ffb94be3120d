import ConnectorStore
import Foundation
import Logging
import ServiceLifecycle

/// Prunes health history older than the retention (`--health-retention-days`) in the
/// background: at start, then every `interval`. The last health of each connector stays.
public struct HealthRetention: Service {
    let store: ConnectorStore
    let retention: Duration
    let interval: Duration
    let logger: Logger

    public init(store: ConnectorStore, retention: Duration, interval: Duration = .seconds(3600), logger: Logger) {
        self.store = store
        self.retention = retention
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        await repeatPasses(pause: interval, logger: logger, failure: "health history pruning failed") {
            let removed = try await prune(now: Date())
            if removed > 0 { logger.info("health history pruned", metadata: ["health.removed": "\(removed)"]) }
            return false
        }
    }

    /// Removes the checks recorded before `now` minus the retention. - Returns: how many went.
    public func prune(now: Date) async throws -> Int {
        try await store.pruneHealthHistory(olderThan: now.addingTimeInterval(-Double(retention.components.seconds)))
    }
}
