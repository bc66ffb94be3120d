import ConnectorCore
import Foundation
import LinuxIO
import Testing

@testable import ProbeEngine

/// A probe over a pipe: it waits for the pipe to become readable, and finishes with `ok` when a
/// byte arrives. Nothing ever writes unless the test does, so it exercises deadlines.
final class PipeProbe: Probe, @unchecked Sendable {
    let pipe = Pipe()
    let closed: AsyncStream<Void>.Continuation
    let started: AsyncStream<Void>.Continuation
    let stage: ProbeStage

    init(stage: ProbeStage, closed: AsyncStream<Void>.Continuation, started: AsyncStream<Void>.Continuation) {
        self.stage = stage
        self.closed = closed
        self.started = started
    }

    func start(_ context: ProbeContext) -> ProbeStep {
        context.enter(stage)
        started.yield()
        return .wait(fd: pipe.fileHandleForReading.fileDescriptor, events: .readable)
    }

    func resume(_ context: ProbeContext, events: IOEvents) -> ProbeStep {
        .finished(.ok)
    }

    func close() {
        try? pipe.fileHandleForReading.close()
        try? pipe.fileHandleForWriting.close()
        closed.yield()
    }
}

/// A driver whose probes are ``PipeProbe``s; `closed` yields once per closed probe.
final class PipeDriver: ProbeDriver, @unchecked Sendable {
    let (closed, closedContinuation) = AsyncStream<Void>.makeStream()
    let (started, startedContinuation) = AsyncStream<Void>.makeStream()
    let stage: ProbeStage
    let writeImmediately: Bool

    init(stage: ProbeStage = .auth, writeImmediately: Bool = false) {
        self.stage = stage
        self.writeImmediately = writeImmediately
    }

    func plan(for type: ConnectorType, metadata: JSONValue, tenant: String) throws(MetadataError) -> ProbePlan {
        ProbePlan(host: metadata["host"]?.stringValue ?? "127.0.0.1", hostAttr: "host", driver: "pipe") { [self] _ in
            let probe = PipeProbe(stage: stage, closed: closedContinuation, started: startedContinuation)
            if writeImmediately { probe.pipe.fileHandleForWriting.write(Data([1])) }
            return probe
        }
    }
}

@Suite struct EngineTests {
    static let postgres = "postgresql|6db35f45-be11-4fd5-80c5-85c48183afbb"
    static let metadata: JSONValue = ["host": "127.0.0.1", "port": "5432", "database": "d", "user": "u", "password": "p"]

    /// ``metadata`` with another host.
    static func metadata(host: String) -> JSONValue {
        var members = metadata.objectValue ?? [:]
        members["host"] = .string(host)
        return .object(members)
    }

    /// A test of the pipe driver's stand-in PostgreSQL connector under `timeout`.
    static func request(timeout: Duration? = nil) -> ProbeRequest {
        ProbeRequest(connectorID: postgres, metadata: metadata, timeout: timeout)
    }

    private func engine(_ driver: PipeDriver, maxInFlight: Int = 64) throws -> ProbeEngine {
        try ProbeEngine(
            configuration: EngineConfiguration(maxInFlight: maxInFlight, reactorThreads: 2, blockingThreads: 2),
            drivers: [.postgresql: driver])
    }

    @Test func deadlineReportsTimeoutWithStageAndClosesTheProbe() async throws {
        let driver = PipeDriver(stage: .auth)
        let engine = try engine(driver)
        defer { engine.shutdown() }
        let report = await engine.test(
            Self.request(timeout: .milliseconds(200)))
        #expect(report.code == .timeout)
        #expect(report.status == 408)
        #expect(report.stage == .auth)
        #expect(report.elapsedMilliseconds >= 200)
        #expect(report.stages.map(\.stage) == [.resolve, .connect, .auth])
        #expect(report.stages.last?.ok == false)
        // The reactor closes the probe after the verdict.
        var closes = driver.closed.makeAsyncIterator()
        #expect(await closes.next() != nil)
    }

    @Test func cancellingTheCallerEndsTheProbeAtOnceAndClosesIt() async throws {
        let driver = PipeDriver(stage: .auth)
        let engine = try engine(driver)
        defer { engine.shutdown() }
        let test = Task {
            await engine.test(Self.request(timeout: .seconds(120)))
        }
        var starts = driver.started.makeAsyncIterator()
        _ = await starts.next()
        test.cancel()
        let report = await test.value
        // Not the deadline's verdict: the cancellation's, in the stage it reached.
        #expect(report.detail == "The test was cancelled while in the 'auth' stage.")
        #expect(report.stage == .auth)
        var closes = driver.closed.makeAsyncIterator()
        #expect(await closes.next() != nil)
        await engine.waitUntilIdle()
        #expect(engine.probesInFlight == 0)
    }

    @Test func readinessFinishesTheProbe() async throws {
        let driver = PipeDriver(writeImmediately: true)
        let engine = try engine(driver)
        defer { engine.shutdown() }
        let report = await engine.test(Self.request())
        #expect(report.code == .ok)
        #expect(report.stage == nil)
        #expect(report.stages.allSatisfy { $0.ok })
    }

    @Test func manyDeadlinesAtOnceAreKeptOnTime() async throws {
        let driver = PipeDriver()
        let engine = try engine(driver, maxInFlight: 2000)
        defer { engine.shutdown() }
        let requests = Array(repeating: Self.request(timeout: .milliseconds(300)), count: 500)
        var codes: [OutcomeCode] = []
        var latest = 0.0
        for await (_, report) in engine.testAll(requests, concurrency: 500) {
            codes.append(report.code)
            latest = max(latest, report.elapsedMilliseconds)
        }
        #expect(codes.count == 500)
        #expect(codes.allSatisfy { $0 == .timeout })
        #expect(latest >= 300)
    }

    @Test func inFlightLimitQueuesProbes() async throws {
        let driver = PipeDriver()
        let engine = try engine(driver, maxInFlight: 1)
        defer { engine.shutdown() }
        let requests = Array(repeating: Self.request(timeout: .milliseconds(100)), count: 3)
        var reports: [ProbeReport] = []
        for await (_, report) in engine.testAll(requests, concurrency: 3) { reports.append(report) }
        #expect(reports.count == 3)
        // One at a time: each probe's own clock starts when it gets the slot, so each still
        // reports its own 100 ms deadline, while all three ran.
        #expect(reports.allSatisfy { $0.code == .timeout && $0.elapsedMilliseconds < 1000 })
        var closes = driver.closed.makeAsyncIterator()
        for _ in 0..<3 { #expect(await closes.next() != nil) }
    }

    @Test func verdictsBeforeAnyConnection() async throws {
        let engine = try engine(PipeDriver())
        defer { engine.shutdown() }
        let unknown = await engine.test(ProbeRequest(connectorID: "nope|1", metadata: Self.metadata))
        #expect(unknown.code == .unknownConnector)
        let invalid = await engine.test(ProbeRequest(connectorID: Self.postgres, metadata: ["host": "x"]))
        #expect(invalid.code == .invalidMetadata)
        let egress = await engine.test(ProbeRequest(connectorID: Self.postgres, metadata: Self.metadata(host: "169.254.169.254")))
        #expect(egress.code == .egressDenied)
        #expect(egress.attr == "host")
        let notFound = await engine.test(ProbeRequest(connectorID: Self.postgres, metadata: Self.metadata(host: "nothing.invalid")))
        #expect(notFound.code == .hostNotFound)
        #expect(notFound.stage == .resolve)
    }

    /// Issue 8 §5: a denied name's verdict says why, never where it resolved (that would map
    /// internal DNS for whoever can send names).
    @Test func aDeniedNameDoesNotEchoItsAddress() async throws {
        let engine = try ProbeEngine(
            configuration: EngineConfiguration(reactorThreads: 1, blockingThreads: 1, egress: .production), drivers: [.postgresql: PipeDriver()])
        defer { engine.shutdown() }
        guard case .object(var members) = Self.metadata else { return }
        members["host"] = "localhost"
        let report = await engine.test(ProbeRequest(connectorID: Self.postgres, metadata: .object(members)))
        #expect(report.code == .egressDenied)
        let body = String(decoding: report.responseBody.serialized(), as: UTF8.self)
        #expect(!body.contains("127.0.0.1"), "\(body)")
        #expect(report.signal?.contains("loopback") == true)
    }
}

@Suite struct ShutdownTests {
    @Test func shutdownEndsTestsInFlightAndClosesTheirProbes() async throws {
        let driver = PipeDriver()
        let engine = try ProbeEngine(
            configuration: EngineConfiguration(maxInFlight: 64, reactorThreads: 2, blockingThreads: 2),
            drivers: [.postgresql: driver])
        let requests = (0..<20).map { _ in
            EngineTests.request(timeout: .seconds(30))
        }
        let results = Task {
            var codes: [OutcomeCode] = []
            for await (_, report) in engine.testAll(requests, concurrency: 20) { codes.append(report.code) }
            return codes
        }
        // Wait until all twenty probes run on their reactors.
        var starts = driver.started.makeAsyncIterator()
        for _ in 0..<20 { _ = await starts.next() }
        engine.shutdown()
        let codes = await results.value
        #expect(codes.count == 20)
        #expect(codes.allSatisfy { $0 == .serverError })
        var closes = driver.closed.makeAsyncIterator()
        for _ in 0..<20 { #expect(await closes.next() != nil) }
        let late = await engine.test(EngineTests.request())
        #expect(late.code == .serverError)
        // Every slot comes back: a process may wait for this before it exits.
        await engine.waitUntilIdle()
        #expect(engine.probesInFlight == 0)
    }
}

/// A probe that keeps its reactor busy inside `resume` (as libpq's SCRAM work does), to show that
/// other probes' deadlines are still reported on time.
final class BusyProbe: Probe, @unchecked Sendable {
    let pipe = Pipe()
    let busy: Duration

    init(busy: Duration) {
        self.busy = busy
        pipe.fileHandleForWriting.write(Data([1]))
    }

    func start(_ context: ProbeContext) -> ProbeStep {
        .wait(fd: pipe.fileHandleForReading.fileDescriptor, events: .readable)
    }

    func resume(_ context: ProbeContext, events: IOEvents) -> ProbeStep {
        // Simulates CPU-bound driver work; not a synchronization device.
        Thread.sleep(forTimeInterval: Double(busy.components.seconds) + Double(busy.components.attoseconds) / 1e18)
        return .finished(.ok)
    }

    func close() {
        try? pipe.fileHandleForReading.close()
        try? pipe.fileHandleForWriting.close()
    }
}

struct BusyDriver: ProbeDriver {
    func plan(for type: ConnectorType, metadata: JSONValue, tenant: String) throws(MetadataError) -> ProbePlan {
        ProbePlan(host: "127.0.0.1", hostAttr: "host", driver: "busy") { _ in BusyProbe(busy: .milliseconds(1500)) }
    }
}

@Suite struct BusyReactorTests {
    @Test func deadlineIsReportedWhileTheReactorIsBusy() async throws {
        let waiting = PipeDriver()
        let engine = try ProbeEngine(
            configuration: EngineConfiguration(reactorThreads: 1, blockingThreads: 1),
            drivers: [.postgresql: waiting, .mysql: BusyDriver()])
        defer { engine.shutdown() }
        // The probe that will time out starts first and waits on its pipe...
        async let timedOut = engine.test(
            EngineTests.request(timeout: .milliseconds(100)))
        var starts = waiting.started.makeAsyncIterator()
        _ = await starts.next()
        // ...then the only reactor spends 1.5 s inside another probe's driver call.
        async let busy = engine.test(
            ProbeRequest(
                connectorID: "mysql|db709852-fa51-4aa6-9b91-afc45f111bec",
                metadata: ["host": "127.0.0.1", "port": "3306", "database": "d", "user": "u", "password": "p"]))
        let report = await timedOut
        #expect(report.code == .timeout)
        #expect(report.elapsedMilliseconds < 1400, "the verdict waited for the busy reactor")
        #expect(await busy.code == .ok)
    }
}
