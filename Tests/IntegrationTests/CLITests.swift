import ConnectorCore
import Foundation
import JSONOracle
import TestProcesses
import Testing

extension LiveServiceTests {
    /// The `connector-engine` binary end to end: `fixtures run` and `test --json`.
    @Suite struct CLITests {
        /// The debug binary built beside the tests.
        static var binary: String {
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent(".build/debug/connector-engine").path
        }

        static func run(_ arguments: [String], environment extra: [String: String] = [:]) throws -> (status: Int32, output: String) {
            // The fake Google's OAuth client secret, where the CLI reads it.
            var environment = ProcessInfo.processInfo.environment
            environment["CONNECTOR_ENGINE_GOOGLE_CLIENT_SECRET"] = environment["CE_GOOGLE_OAUTH_CLIENT_SECRET"]
            environment["DROPBOX_OAUTH2_KEY"] = environment["CE_DROPBOX_APP_KEY"]
            environment["DROPBOX_OAUTH2_SECRET"] = environment["CE_DROPBOX_APP_SECRET"]
            environment["CONNECTOR_ENGINE_TOKEN"] = nil
            environment.merge(extra) { $1 }
            return try ChildProcess.run(binary, arguments, environment: environment)
        }

        @Test func fixturesRunPassesAndWritesJUnit() throws {
            _ = try LiveServices.value("CE_PG_PORT")
            let junit = FileManager.default.temporaryDirectory.appendingPathComponent("fixtures-\(UUID().uuidString).xml").path
            defer { try? FileManager.default.removeItem(atPath: junit) }
            let (status, output) = try Self.run(["fixtures", "run", LiveServices.fixturesDirectory, "--junit", junit] + LiveServices.googleArguments)
            #expect(status == 0, "fixtures run output: \(output)")
            #expect(output.contains(" passed, 0 failed"))
            let xml = try String(contentsOfFile: junit, encoding: .utf8)
            #expect(xml.contains("failures=\"0\""))
            #expect(xml.contains("<testcase"))
        }

        @Test func fixturesRunFailsOnAMismatch() throws {
            _ = try LiveServices.value("CE_PG_PORT")
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fixtures-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            try """
            cases:
              - name: expects the wrong verdict
                connector_id: postgresql|6db35f45-be11-4fd5-80c5-85c48183afbb
                connector_metadata: {host: 127.0.0.1, port: "${CE_CLOSED_PORT}", database: d, user: u, password: p}
                expect: {status: 200, code: ok}
            """.write(to: directory.appendingPathComponent("wrong.yaml"), atomically: true, encoding: .utf8)
            let (status, output) = try Self.run(["fixtures", "run", directory.path])
            #expect(status == 1)
            #expect(output.contains("FAIL"))
            #expect(output.contains("connection_refused"))
        }

        /// Issue 8 §10: the API token comes from the environment, never from an argument `ps` shows.
        @Test func fixturesThroughTheAPITakeTheTokenFromTheEnvironment() throws {
            let directory = LiveServices.fixturesDirectory
            let closed = "http://127.0.0.1:\(try LiveServices.value("CE_CLOSED_PORT"))"
            let usage: Int32 = 64
            #expect(try Self.run(["fixtures", "run", directory, "--api", closed, "--token", "T"]).status == usage)
            #expect(try Self.run(["fixtures", "run", directory, "--api", closed]).status == usage)
            // With the token in the environment the cases run (and fail: nothing listens there).
            #expect(try Self.run(["fixtures", "run", directory, "--api", closed], environment: ["CONNECTOR_ENGINE_TOKEN": "T"]).status == 1)
            #expect(
                try Self.run(["fixtures", "run", directory, "--api", closed, "--token-env", "OTHER"], environment: ["OTHER": "T"]).status == 1)
        }

        @Test func testJSONIsTheAPIBodyWithStatus() throws {
            let port = try LiveServices.value("CE_MARIADB_PORT")
            let metadata = """
                {"host": "127.0.0.1", "port": "\(port)", "database": "\(try LiveServices.value("CE_MARIADB_DATABASE"))", \
                "user": "\(try LiveServices.value("CE_MARIADB_USER"))", "password": "\(try LiveServices.value("CE_MARIADB_PASSWORD"))"}
                """
            let valid = try Self.run(["test", "--connector", "mariadb|146b0124-b9fc-466f-8e68-098ff60703e8", "--metadata", metadata, "--json"])
            #expect(valid.status == 0)
            let body = try JSONDecoder().decode(JSONValue.self, from: Data(valid.output.utf8))
            #expect(body["status"] == 200)
            #expect(body["is_valid"] == true)

            let wrong = metadata.replacingOccurrences(of: try LiveServices.value("CE_MARIADB_PASSWORD"), with: "wrong")
            let invalid = try Self.run(["test", "--connector", "mariadb|146b0124-b9fc-466f-8e68-098ff60703e8", "--metadata", wrong, "--json"])
            #expect(invalid.status == 1)
            let failure = try JSONDecoder().decode(JSONValue.self, from: Data(invalid.output.utf8))
            #expect(failure["status"] == 403)
            #expect(failure["type"] == "client_error")
            #expect(failure["probe"]?["code"] == "auth_failed")
        }
    }
}
