import ConnectorCore
import FixtureRunner
import Foundation
import ProbeEngine
import Probes
import Testing

/// Issue 12: the native PostgreSQL path and libpq, the reference, give every PostgreSQL fixture
/// the same verdict: status, code, stage and attr.
extension LiveServiceTests {
    @Suite struct PostgresDifferentialTests {
        @Test func theNativePathAndLibpqAgreeOnEveryPostgreSQLFixture() async throws {
            let text = try String(contentsOfFile: "\(LiveServices.fixturesDirectory)/postgresql.yaml", encoding: .utf8)
            let cases = try FixtureLoader.parse(text, file: "postgresql.yaml", environment: LiveServices.environment)
            let native = try LiveServices.engine()
            defer { native.shutdown() }
            let libpq = try LiveServices.engine(postgres: .libpq)
            defer { libpq.shutdown() }
            let viaNative = await FixtureRun.run(cases, engine: native, concurrency: 16)
            let viaLibpq = await FixtureRun.run(cases, engine: libpq, concurrency: 16)
            #expect(viaNative.count == cases.count && viaLibpq.count == cases.count)
            var ranNative = 0
            for (mine, reference) in zip(viaNative, viaLibpq) {
                let name = mine.fixture.name
                #expect(mine.report.code == reference.report.code, "\(name): \(mine.report.signal ?? "-") vs \(reference.report.signal ?? "-")")
                #expect(mine.report.code.status == reference.report.code.status, "\(name)")
                #expect(mine.report.stage == reference.report.stage, "\(name)")
                #expect(mine.report.attr == reference.report.attr, "\(name)")
                // Whatever got as far as a probe ran on the path asked for.
                if let driver = reference.report.driver {
                    #expect(driver == "libpq", "\(name)")
                    #expect(mine.report.driver == "native", "\(name)")
                    ranNative += 1
                }
            }
            #expect(ranNative >= 20)
        }
    }
}

extension LiveServiceTests.PostgresDifferentialTests {
    /// A server that floods the probe with messages: the native probe gives up with a protocol
    /// error, and on a single reactor thread another probe still finishes meanwhile.
    @Test func aFloodingServerEndsTheNativeProbeAndDoesNotHoldTheReactor() async throws {
        let engine = try ProbeEngine.standard(configuration: EngineConfiguration(reactorThreads: 1, blockingThreads: 1))
        defer { engine.shutdown() }
        let postgres = "postgresql|6db35f45-be11-4fd5-80c5-85c48183afbb"
        let flood: JSONValue = [
            "host": "127.0.0.1", "port": .string(try LiveServices.value("CE_PG_SCRIPT_PORT")), "database": "flood_after_auth_ok",
            "user": "u", "password": "p", "sslmode": "disable",
        ]
        let good: JSONValue = [
            "host": "127.0.0.1", "port": .string(try LiveServices.value("CE_PG_PLAIN_PORT")),
            "database": .string(try LiveServices.value("CE_PG_DATABASE")), "user": .string(try LiveServices.value("CE_PG_USER")),
            "password": .string(try LiveServices.value("CE_PG_PASSWORD")), "sslmode": "disable",
        ]
        async let flooded = engine.test(ProbeRequest(connectorID: postgres, metadata: flood, timeout: .seconds(10)))
        async let other = engine.test(ProbeRequest(connectorID: postgres, metadata: good, timeout: .seconds(10)))
        let (floodReport, otherReport) = await (flooded, other)
        #expect(floodReport.code == .protocolError && floodReport.driver == "native", "\(floodReport.code) \(floodReport.detail)")
        #expect(otherReport.code == .ok)
    }
}
