import Foundation
import Testing

extension LiveServiceTests {
    /// `connector-engine admin` and the first start of `serve`, end to end on a temporary data dir.
    @Suite struct AdminCLITests {
        static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: CLITests.binary)
            process.arguments = arguments
            var env = ProcessInfo.processInfo.environment
            env["CONNECTOR_ENGINE_KEYS"] = nil
            env["DATABASE_URL"] = nil
            for (key, value) in environment { env[key] = value }
            process.environment = env
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = pipe
            try process.run()
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return (process.terminationStatus, String(decoding: data, as: UTF8.self))
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

        /// Issue 8: what another process changed shows within the read cache's time, so that time
        /// is capped at a few seconds: a larger value is refused before anything is opened.
        @Test func serveRefusesAReadCacheOfMoreThanFiveSeconds() throws {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("serve-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: dir) }
            // An occupied port makes serve exit after bootstrap should the value be accepted.
            let blocker = try ServerSocket()
            let refused = try Self.run(["serve", "--port", String(blocker.port), "--data-dir", dir, "--read-cache-seconds", "6"])
            #expect(refused.status != 0 && refused.output.contains("--read-cache-seconds must be 0...5"), "\(refused.output)")
            #expect(!FileManager.default.fileExists(atPath: dir))
        }

        @Test func serveOnAnEmptyStorePrintsTheFirstTokenOnce() throws {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("serve-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: dir) }
            // Bootstrap happens before listening; an occupied port makes serve exit right after it.
            let blocker = try ServerSocket()
            let first = try Self.run(["serve", "--port", String(blocker.port), "--data-dir", dir])
            #expect(first.output.contains("API token (shown only now"), "\(first.output)")
            let second = try Self.run(["serve", "--port", String(blocker.port), "--data-dir", dir])
            #expect(!second.output.contains("API token (shown only now"))
            let users = try Self.run(["admin", "user", "list", "--data-dir", dir])
            #expect(users.output.contains("admin@localhost"))
        }
    }
}

/// A listening TCP socket on loopback, to make a port busy.
final class ServerSocket {
    let handle: FileHandle
    let port: Int
    init() throws {
        // Python binds and listens; the port stays busy while this object lives.
        let pipe = Pipe()
        let python = Process()
        python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        python.arguments = [
            "python3", "-c",
            "import socket,sys;s=socket.socket();s.bind(('127.0.0.1',0));s.listen();print(s.getsockname()[1],flush=True);sys.stdin.read()",
        ]
        python.standardOutput = pipe
        let input = Pipe()
        python.standardInput = input
        try python.run()
        handle = input.fileHandleForWriting
        let line = String(decoding: pipe.fileHandleForReading.availableData, as: UTF8.self)
        port = Int(line.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    }
    deinit { try? handle.close() }
}
