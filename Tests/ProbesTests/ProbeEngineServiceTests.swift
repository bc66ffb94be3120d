import Logging
import ProbeEngine
import ServiceLifecycle
import Testing

@testable import Probes

/// The engine runs as a service of the server's group and stops with it.
@Suite struct ProbeEngineServiceTests {
    @Test func theEngineRunsUntilTheGroupShutsDownThenStops() async throws {
        let engine = try ProbeEngine.standard(configuration: EngineConfiguration(reactorThreads: 1, blockingThreads: 1))
        let group = ServiceGroup(
            configuration: .init(services: [ProbeEngineService(engine: engine)], logger: Logger(label: "test")))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            #expect(engine.isRunning)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        #expect(!engine.isRunning && engine.probesInFlight == 0)
    }
}
