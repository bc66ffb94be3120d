import ConnectorCore
import FixtureRunner
import Foundation
import MariaDBDriver
import PostgresDriver
import ProbeEngine
import Probes
import Testing

/// Runs the fixture files against the live services, as `connector-engine fixtures run` does.
extension LiveServiceTests {
    @Suite struct FixtureTests {
        @Test(arguments: [
            "postgresql.yaml", "mariadb.yaml", "mysql.yaml", "s3.yaml", "gcs.yaml", "bigquery.yaml", "gdrive.yaml", "dropbox.yaml", "snowflake.yaml",
        ])
        func fixtureFilePasses(_ file: String) async throws {
            _ = try LiveServices.value("CE_PG_PORT")
            let text = try String(contentsOfFile: "\(LiveServices.fixturesDirectory)/\(file)", encoding: .utf8)
            let cases = try FixtureLoader.parse(text, file: file, environment: LiveServices.environment)
            #expect(cases.count >= 5)
            let engine = try LiveServices.engine()
            defer { engine.shutdown() }
            let results = await FixtureRun.run(cases, engine: engine, concurrency: 16)
            #expect(results.count == cases.count)
            for result in results where !result.passed {
                Issue.record(
                    "\(result.fixture.name): \(result.mismatches.joined(separator: "; ")) [detail: \(result.report.detail), signal: \(result.report.signal ?? "-")]"
                )
            }
        }

        @Test func everyOutcomeIsCoveredForBothServers() throws {
            _ = try LiveServices.value("CE_PG_PORT")
            let required = [
                "ok", "auth_failed", "permission_denied", "not_found", "host_not_found", "connection_refused", "timeout",
                "tls_failure", "egress_denied", "invalid_metadata", "unknown_connector",
            ]
            for file in ["postgresql.yaml", "mariadb.yaml"] {
                let text = try String(contentsOfFile: "\(LiveServices.fixturesDirectory)/\(file)", encoding: .utf8)
                let codes = Set(try FixtureLoader.parse(text, file: file, environment: LiveServices.environment).map(\.expect.code))
                for code in required { #expect(codes.contains(code), "\(file) has no case expecting \(code)") }
            }
            let s3 = Set(
                try FixtureLoader.parse(
                    try String(contentsOfFile: "\(LiveServices.fixturesDirectory)/s3.yaml", encoding: .utf8), file: "s3.yaml",
                    environment: LiveServices.environment
                ).map(\.expect.code))
            for code in required where code != "unknown_connector" { #expect(s3.contains(code), "s3.yaml has no case expecting \(code)") }
        }

        @Test func probesCloseEverythingTheyOpenOnEveryPath() async throws {
            _ = try LiveServices.value("CE_PG_PORT")
            let cases = try FixtureLoader.load(directory: LiveServices.fixturesDirectory, environment: LiveServices.environment)
            let engine = try LiveServices.engine()
            defer { engine.shutdown() }
            // Warm up once so that lazily opened process-wide descriptors are not counted.
            _ = await FixtureRun.run(cases, engine: engine, concurrency: 32)
            await engine.waitUntilIdle()
            let before = LiveServices.openSockets()
            let results = await FixtureRun.run(cases, engine: engine, concurrency: 64)
            #expect(results.contains { $0.report.code == .timeout })
            #expect(results.contains { $0.report.code == .ok })
            await engine.waitUntilIdle()
            #expect(engine.probesInFlight == 0)
            #expect(PostgresConnection.openHandles == 0)
            #expect(MariaDBConnection.openHandles == 0)
            #expect(LiveServices.openSockets() == before)
        }
    }
}
