import ConnectorStore
import ProbeEngine

/// The parts of health checking one server shares between its routes and its scheduler: the
/// test caps, the checker of stored connectors, the batch dispatcher and the jobs.
public struct HealthRuntime: Sendable {
    public let admission: TestAdmission
    public let checker: StoredConnectorChecker
    public let dispatcher: BatchDispatcher
    public let jobs: HealthJobs

    public init(engine: ProbeEngine, store: ConnectorStore, limits: TestLimits = TestLimits(), batch: BatchLimits = BatchLimits()) {
        self.init(engine: engine, store: store, admission: TestAdmission(limits: limits), batch: batch)
    }

    /// With a given admission counter (tests share one to observe it).
    public init(engine: ProbeEngine, store: ConnectorStore, admission: TestAdmission, batch: BatchLimits = BatchLimits()) {
        self.admission = admission
        self.checker = StoredConnectorChecker(engine: engine, store: store)
        self.dispatcher = BatchDispatcher(checker: checker, limits: batch, admission: admission)
        self.jobs = HealthJobs()
    }
}
