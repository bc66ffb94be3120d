import ConnectorAPI
import ConnectorCore
import ConnectorStore
import Encryption
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import ProbeEngine
import TestSupport
import Testing

extension LiveServiceTests {
    /// `connector-engine health` straight from a store, against the local PostgreSQL (issue 10).
    @Suite struct HealthCLITests {
        static let postgres = "postgresql|6db35f45-be11-4fd5-80c5-85c48183afbb"

        @Test func healthChecksTheStoreFailingFirstAndRecordsTheChecks() async throws {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("health-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let key = try EncryptionKey.generate(id: "cli")
            let environment = ["CONNECTOR_ENGINE_KEYS": key.specification]
            #expect(try AdminCLITests.run(["admin", "org", "create", "acme", "--data-dir", dir], environment: environment).status == 0)
            #expect(try AdminCLITests.run(["admin", "user", "create", "ann@acme.test", "--data-dir", dir], environment: environment).status == 0)

            var logger = Logger(label: "health-cli-test")
            logger.logLevel = .warning
            let ids = try await ConnectorStore.withStore(
                .sqlite(path: dir + "/connector-engine.sqlite"), keyRing: try KeyRing(primary: key), logger: logger
            ) { store in
                let ann = try #require(try await store.user(email: "ann@acme.test"))
                let good: JSONValue = [
                    "host": "127.0.0.1", "port": .string(try LiveServices.value("CE_PG_PORT")),
                    "database": .string(try LiveServices.value("CE_PG_DATABASE")),
                    "user": .string(try LiveServices.value("CE_PG_USER")), "password": .string(try LiveServices.value("CE_PG_PASSWORD")),
                ]
                var wrong = good.objectValue ?? [:]
                wrong["password"] = "not-the-password"
                let made = [
                    ("billing", good), ("reports", .object(wrong)),
                ]
                var ids: [String: UUID] = [:]
                for (name, metadata) in made {
                    ids[name] = try await store.createConnector(
                        NewConnector(name: name, typeID: Self.postgres, mode: "DATABASE", metadata: metadata), organization: "acme", by: ann.id
                    ).id
                }
                return ids
            }

            let table = try AdminCLITests.run(
                ["health", "--org", "acme", "--data-dir", dir, "--timeout", "10"], environment: environment)
            // One connector fails: exit 1, the failing one first.
            #expect(table.status == 1, "\(table.output)")
            let lines = table.output.split(separator: "\n").map(String.init)
            let header = try #require(lines.firstIndex { $0.hasPrefix("NAME") })
            #expect(lines[header].split(separator: " ", omittingEmptySubsequences: true) == ["NAME", "TYPE", "CODE", "STAGE", "MS", "WARNING"])
            #expect(lines[header + 1].hasPrefix("reports") && lines[header + 1].contains("auth_failed") && lines[header + 1].contains("auth"))
            #expect(lines[header + 2].hasPrefix("billing") && lines[header + 2].contains(" ok "))
            #expect(table.output.contains("2 checked: 1 valid, 1 failing"))
            #expect(!table.output.contains(try LiveServices.value("CE_PG_PASSWORD")))

            let junit = dir + "/health.xml"
            let failing = try AdminCLITests.run(
                ["health", "--org", "acme", "--data-dir", dir, "--only-failing", "--json", "--junit", junit], environment: environment)
            #expect(failing.status != 0 && failing.output.contains("exclusive"))
            let json = try AdminCLITests.run(["health", "--org", "acme", "--data-dir", dir, "--only-failing", "--json"], environment: environment)
            let start = try #require(json.output.firstIndex(of: "["))
            let end = try #require(json.output.lastIndex(of: "]"))
            let rows = try JSONValue.parse(Array(json.output[start...end].utf8))
            #expect(rows.arrayValue?.count == 1)
            #expect(rows[0]?["connector_name"] == "reports" && rows[0]?["code"] == "auth_failed" && rows[0]?["attr"] == "password")
            #expect(try AdminCLITests.run(["health", "--org", "acme", "--data-dir", dir, "--junit", junit], environment: environment).status == 1)
            let xml = try String(contentsOfFile: junit, encoding: .utf8)
            #expect(xml.contains(#"tests="2" failures="1""#) && xml.contains(#"name="reports""#))
            #expect(try AdminCLITests.run(["health", "--org", "nowhere", "--data-dir", dir], environment: environment).status != 0)

            // Every run was recorded in the connectors' history.
            try await ConnectorStore.withStore(
                .sqlite(path: dir + "/connector-engine.sqlite"), keyRing: try KeyRing(primary: key), logger: logger
            ) { reopened in
                let history = try await reopened.healthHistory(connector: try #require(ids["reports"]), organization: "acme", page: 1, pageSize: 10)
                #expect(history.count == 3)
                #expect(history.checks.allSatisfy { $0.triggeredVia == "job" && $0.triggeredBy == nil && $0.code == "auth_failed" })
                let billing = try await reopened.connector(id: try #require(ids["billing"]), organization: "acme")
                #expect(billing?.lastHealth?.isValid == true)
            }
        }

        @Test func healthThroughTheAPIRunsAJobOfTheServer() async throws {
            let engine = try LiveServices.engine()
            defer { engine.shutdown() }
            try await TemporaryStore.with { temporary in
                let good: JSONValue = [
                    "host": "127.0.0.1", "port": .string(try LiveServices.value("CE_PG_PORT")),
                    "database": .string(try LiveServices.value("CE_PG_DATABASE")), "user": .string(try LiveServices.value("CE_PG_USER")),
                    "password": .string(try LiveServices.value("CE_PG_PASSWORD")),
                ]
                _ = try await temporary.store.createConnector(
                    NewConnector(name: "good", typeID: Self.postgres, mode: "DATABASE", metadata: good), organization: "default",
                    by: temporary.admin.id)
                let app = Application(
                    router: buildRouter(engine: engine, store: temporary.store), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
                try await app.test(.live) { client in
                    let url = "http://127.0.0.1:\(try #require(client.port))"
                    let token = temporary.adminToken
                    let (status, output) = try await Self.offThePool {
                        try AdminCLITests.run(["health", "--api", url, "--json"], environment: ["CONNECTOR_ENGINE_TOKEN": token])
                    }
                    #expect(status == 0, "\(output)")
                    #expect(output.contains(#""connector_name":"good""#) && output.contains("1 checked: 1 valid, 0 failing"))
                    #expect(!output.contains(token))
                    let (refused, message) = try await Self.offThePool {
                        try AdminCLITests.run(["health", "--api", url], environment: ["CONNECTOR_ENGINE_TOKEN": "wrong"])
                    }
                    #expect(refused != 0 && message.contains("did not start the job"), "\(message)")
                }
            }
        }

        @Test func serveRefusesAHealthIntervalItCannotUse() throws {
            for bad in ["30s", "0", "6x", "h", "-5m"] {
                let refused = try AdminCLITests.run(["serve", "--health-interval=\(bad)", "--data-dir", "/nonexistent/never-created"])
                #expect(refused.status != 0 && refused.output.contains("--health-interval must be a duration"), "\(bad): \(refused.output)")
            }
            for bad in ["--health-per-host=0", "--health-concurrency=0", "--health-concurrency=5000"] {
                let refused = try AdminCLITests.run(["serve", bad, "--data-dir", "/nonexistent/never-created"])
                #expect(refused.status != 0 && refused.output.contains("--health-concurrency must be"), "\(bad): \(refused.output)")
            }
            #expect(!FileManager.default.fileExists(atPath: "/nonexistent/never-created"))
        }

        /// Runs a blocking call (a child process) on a thread of its own, not the concurrency pool
        /// the in-process server needs.
        static func offThePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
            try await withCheckedThrowingContinuation { continuation in
                Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
            }
        }
    }
}
