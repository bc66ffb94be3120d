import ConnectorCore
import ConnectorStore
import Encryption
import Foundation
import Logging
import TestProcesses
import Testing

extension LiveServiceTests {
    /// `connector-engine admin` and the first start of `serve`, end to end on a temporary data dir.
    @Suite struct AdminCLITests {
        static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
            var env = ProcessInfo.processInfo.environment
            env["CONNECTOR_ENGINE_KEYS"] = nil
            env["DATABASE_URL"] = nil
            for (key, value) in environment { env[key] = value }
            return try ChildProcess.run(CLITests.binary, arguments, environment: env, errors: .capture)
        }

        @Test func adminManagesIdentityRotatesKeysAndListsTheAudit() throws {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("admin-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let data = ["--data-dir", dir]
            // Production mode never generates a key: a clear start-up error, nothing created.
            let refused = try Self.run(["admin", "org", "list", "--production"] + data)
            #expect(refused.status != 0 && refused.output.contains("no encryption key"))
            // Development generates a 0600 key file beside the store and says so.
            let created = try Self.run(["admin", "org", "create", "acme", "--name", "Acme"] + data)
            #expect(created.status == 0 && created.output.contains("generated one into"), "\(created.output)")
            let keyFile = dir + "/encryption.keys"
            let mode = try FileManager.default.attributesOfItem(atPath: keyFile)[.posixPermissions] as? Int
            #expect(mode == 0o600)
            #expect(try Self.run(["admin", "user", "create", "ann@acme.test"] + data).status == 0)
            #expect(try Self.run(["admin", "member", "add", "--org", "acme", "--email", "ann@acme.test", "--role", "admin"] + data).status == 0)
            let members = try Self.run(["admin", "member", "list", "--org", "acme"] + data)
            #expect(members.output.contains("ann@acme.test\tadmin"))
            let token = try Self.run(["admin", "token", "create", "--email", "ann@acme.test"] + data)
            #expect(token.status == 0)
            let secret = try #require(token.output.split(separator: "\n").last.map(String.init))
            #expect(secret.hasPrefix("ce_"))
            let listed = try Self.run(["admin", "token", "list"] + data)
            #expect(listed.output.contains("active") && !listed.output.contains(secret))
            let tokenID = try #require(listed.output.split(separator: "\t").first.map(String.init))
            #expect(try Self.run(["admin", "token", "revoke", tokenID] + data).output.contains("revoked"))
            #expect(try Self.run(["admin", "token", "list"] + data).output.contains("revoked "))
            #expect(try Self.run(["admin", "token", "revoke", tokenID] + data).status != 0)
            #expect(try Self.run(["admin", "org", "create", "acme"] + data).output.contains("already exists"))

            // Rotation: put a new primary key in front of the old one, re-seal, drop the old key.
            let oldKeys = try String(contentsOfFile: keyFile, encoding: .utf8)
            let oldLine = try #require(oldKeys.split(separator: "\n").first { !$0.hasPrefix("#") })
            let newKey = "k2:" + Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
            let rotated = try Self.run(["admin", "rotate-keys"] + data, environment: ["CONNECTOR_ENGINE_KEYS": "\(newKey),\(oldLine)"])
            #expect(rotated.status == 0, "\(rotated.output)")
            #expect(rotated.output.contains("already under 'k2'") || rotated.output.contains("re-encrypted under 'k2'"))
            let audit = try Self.run(["admin", "audit"] + data)
            #expect(audit.status == 0)
        }

        /// Issue 6: what a user who left owned no longer stays stuck. The operator lists the
        /// organization's connectors and workflows, deletes the workflow that pins a connector,
        /// deletes that connector, gives the other one to a member; every act is in the audit log.
        @Test func adminFreesTheConnectorsAndWorkflowsOfAUserWhoLeft() async throws {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("admin-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let key = try EncryptionKey.generate(id: "cli")
            let keys = ["CONNECTOR_ENGINE_KEYS": key.specification]
            func admin(_ arguments: String...) throws -> (status: Int32, output: String) {
                try Self.run(["admin"] + arguments + ["--data-dir", dir], environment: keys)
            }
            #expect(try admin("org", "create", "acme").status == 0)
            for email in ["ann@acme.test", "leaver@acme.test"] {
                #expect(try admin("user", "create", email).status == 0)
                #expect(try admin("member", "add", "--org", "acme", "--email", email).status == 0)
            }
            // The leaver owns two connectors and a workflow that uses one of them.
            var logger = Logger(label: "admin-cli-test")
            logger.logLevel = .warning
            let (kept, pinned, workflow) = try await ConnectorStore.withStore(
                .sqlite(path: dir + "/connector-engine.sqlite"), keyRing: try KeyRing(primary: key), logger: logger
            ) { store in
                let leaver = try #require(try await store.user(email: "leaver@acme.test"))
                func connector(_ name: String) async throws -> String {
                    let new = NewConnector(
                        name: name, typeID: "postgresql|6db35f45-be11-4fd5-80c5-85c48183afbb", mode: "DATABASE",
                        metadata: ["host": "db.example", "port": "5432", "user": "app", "password": "pw", "database": "app"])
                    return try await store.createConnector(new, organization: "acme", by: leaver.id).id.uuidString.lowercased()
                }
                let kept = try await connector("kept")
                let pinned = try await connector("pinned")
                let workflow = try await store.createWorkflow(
                    name: "nightly", source: UUID(uuidString: pinned), destination: nil, organization: "acme", by: leaver.id
                ).id.uuidString.lowercased()
                return (kept, pinned, workflow)
            }
            #expect(try admin("member", "remove", "--org", "acme", "--email", "leaver@acme.test").status == 0)

            let connectors = try admin("connector", "list", "--org", "acme")
            #expect(connectors.output.contains("\(kept)\tkept\t") && connectors.output.contains("\(pinned)\tpinned\t"))
            #expect(connectors.output.contains("leaver@acme.test (not a member)"), "\(connectors.output)")
            let refused = try admin("connector", "delete", "--org", "acme", pinned)
            #expect(refused.status != 0 && refused.output.contains("\(workflow)\tnightly\t\(pinned)"), "\(refused.output)")
            #expect(try admin("workflow", "list", "--org", "acme", "--connector", kept).output.isEmpty)
            #expect(try admin("workflow", "list", "--org", "acme", "--connector", pinned).output.contains(workflow))
            #expect(try admin("workflow", "delete", "--org", "acme", workflow).status == 0)
            #expect(try admin("workflow", "delete", "--org", "acme", workflow).status != 0)
            #expect(try admin("connector", "delete", "--org", "acme", pinned).status == 0)
            // Only a member may receive a connector.
            #expect(try admin("connector", "transfer", "--org", "acme", kept, "--to", "leaver@acme.test").status != 0)
            #expect(try admin("connector", "transfer", "--org", "acme", kept, "--to", "ann@acme.test").status == 0)
            #expect(
                try admin("connector", "list", "--org", "acme").output.contains(
                    "\(kept)\tkept\tpostgresql|6db35f45-be11-4fd5-80c5-85c48183afbb\tann@acme.test\n"))

            let audit = try admin("audit", "--org", "acme", "--limit", "3").output.split(separator: "\n")
            try #require(audit.count == 3)
            #expect(audit.allSatisfy { $0.contains("\toperator\t") }, "\(audit)")
            #expect(audit[0].contains("\ttransfer\t\(kept)\t"))
            #expect(audit[1].contains("\tdelete\t\(pinned)\t"))
            #expect(audit[2].contains("\tdelete_workflow\t-\tok\tworkflow \(workflow) 'nightly'"))
        }

        /// Issue 8: what another process changed shows within the read cache's time, so that time
        /// is capped at a few seconds: a larger value is refused before anything is opened.
        @Test func serveRefusesAReadCacheOfMoreThanFiveSeconds() throws {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("serve-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: dir) }
            // An occupied port makes serve exit after bootstrap should the value be accepted.
            let blocker = try HeldPort(listening: true)
            let refused = try Self.run(["serve", "--port", String(blocker.port), "--data-dir", dir, "--read-cache-seconds", "6"])
            #expect(refused.status != 0 && refused.output.contains("--read-cache-seconds must be 0...5"), "\(refused.output)")
            #expect(!FileManager.default.fileExists(atPath: dir))
        }

        /// The 429 caps are the operator's to set, within bounds, before anything is opened.
        @Test(arguments: [["--tests-per-user", "0"], ["--tests-per-org", "16385"]])
        func serveRefusesTestCapsOutOfRange(_ option: [String]) throws {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("serve-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let blocker = try HeldPort(listening: true)
            let refused = try Self.run(["serve", "--port", String(blocker.port), "--data-dir", dir] + option)
            #expect(
                refused.status != 0 && refused.output.contains("--tests-per-user must be 1...4096 and --tests-per-org 1...16384"), "\(refused.output)"
            )
            #expect(!FileManager.default.fileExists(atPath: dir))
        }

        @Test func serveOnAnEmptyStorePrintsTheFirstTokenOnce() throws {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("serve-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: dir) }
            // Bootstrap happens before listening; an occupied port makes serve exit right after it.
            let blocker = try HeldPort(listening: true)
            let first = try Self.run(["serve", "--port", String(blocker.port), "--data-dir", dir])
            #expect(first.output.contains("API token (shown only now"), "\(first.output)")
            let second = try Self.run(["serve", "--port", String(blocker.port), "--data-dir", dir])
            #expect(!second.output.contains("API token (shown only now"))
            let users = try Self.run(["admin", "user", "list", "--data-dir", dir])
            #expect(users.output.contains("admin@localhost"))
        }

        /// `--log-format json`: every log line is one JSON object with its time, level, label and
        /// message; none is written as text.
        @Test func serveWritesJSONLogLines() throws {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("serve-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let blocker = try HeldPort(listening: true)
            let run = try Self.run(["serve", "--log-format", "json", "--port", String(blocker.port), "--data-dir", dir])
            let lines = run.output.split(separator: "\n").map(String.init)
            let logs = lines.filter { $0.hasPrefix("{") }
            #expect(!logs.isEmpty, "\(run.output)")
            for line in logs {
                let object = try JSONValue.parse(Array(line.utf8))
                #expect(object["ts"]?.stringValue?.hasSuffix("Z") == true && object["level"] != nil, "\(line)")
                #expect(object["label"] != nil && object["message"] != nil, "\(line)")
            }
            #expect(logs.contains { $0.contains(#""message":"store migrated""#) })
            #expect(!lines.contains { $0.range(of: #"^\d{4}-\d{2}-\d{2}T\S+ (info|notice|warning|error) "#, options: .regularExpression) != nil })
        }
    }
}
