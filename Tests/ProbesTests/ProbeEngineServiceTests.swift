import ConnectorCore
import Logging
import ProbeEngine
import ServiceLifecycle
import TestProcesses
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

/// Issue 13: once the group begins to shut down, tests in flight get the grace and no more: one
/// still running then is ended at once and says so (its caller answers 503, health history does
/// not record it).
@Suite struct ShutdownGraceTests {
    /// Stands for the HTTP server draining: it ends once the test it waits for has its verdict.
    struct Draining: Service {
        let request: Task<ProbeReport, Never>
        func run() async {
            try? await gracefulShutdown()
            _ = await request.value
        }
    }

    @Test func aTestStillRunningWhenTheGraceEndsIsEndedAndMarked() async throws {
        let engine = try ProbeEngine.standard(configuration: EngineConfiguration(reactorThreads: 1, blockingThreads: 1))
        // Takes connections into its backlog and never answers: the probe would wait for its deadline.
        let silent = try HeldPort(listening: true)
        let metadata: JSONValue = ["host": "127.0.0.1", "port": .string(String(silent.port)), "database": "d", "user": "u", "password": "p"]
        let request = Task {
            await engine.test(ProbeRequest(connectorID: "postgresql|6db35f45-be11-4fd5-80c5-85c48183afbb", metadata: metadata, timeout: .seconds(60)))
        }
        let grace = ShutdownGrace(.milliseconds(500))
        let group = ServiceGroup(
            configuration: .init(
                services: [ProbeEngineService(engine: engine, grace: grace), Draining(request: request), grace.starter],
                logger: Logger(label: "test")))
        let started = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            await group.triggerGracefulShutdown()
            let report = await request.value
            let waited = ContinuousClock.now - started
            #expect(report.wasCutByShutdown && report.code == .serverError, "\(report)")
            // Not before the grace, and long before the probe's own deadline.
            #expect(waited >= .milliseconds(500) && waited < .seconds(30), "\(waited)")
            try await tasks.waitForAll()
        }
        #expect(!engine.isRunning && engine.probesInFlight == 0)
    }
}
