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
