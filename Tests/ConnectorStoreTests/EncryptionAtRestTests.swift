import ConnectorCore
import ConnectorStore
import Encryption
import Foundation
import SQLKit
import Synchronization
import TestProcesses
import Testing

@Suite struct EncryptionAtRestTests {
    private static let typeID = "postgresql|6db35f45-be11-4fd5-80c5-85c48183afbb"

    private static func connector(_ name: String, secret: String) -> NewConnector {
        NewConnector(
            name: name, typeID: typeID, mode: "DATABASE",
            metadata: ["host": "db.example", "port": "5432", "user": "app", "password": .string(secret), "database": "app"])
    }

    /// Creates organization `acme` and its admin `owner@acme.test`.
    private static func acmeOwner(in store: ConnectorStore) async throws -> User {
        _ = try await store.createOrganization(id: "acme", name: "Acme")
        let owner = try await store.createUser(email: "owner@acme.test", name: "Owner")
        try await store.setMembership(organization: "acme", userID: owner.id, role: .admin)
        return owner
    }

    /// Bytes of every file of the SQLite store (main file, WAL, shared memory).
    private static func sqliteBytes(_ path: String) -> Data {
        ["", "-wal", "-shm"].reduce(into: Data()) { all, suffix in
            all += (FileManager.default.contents(atPath: path + suffix) ?? Data())
        }
    }

    /// A plain-SQL dump of the PostgreSQL store database.
    private static func postgresDump(_ database: String) throws -> Data {
        let admin = try StoreHarness.adminURL()
        let url = admin.replacingOccurrences(of: "/postgres?", with: "/\(database)?")
        let bin = try #require(ProcessInfo.processInfo.environment["CE_PG_BIN"], "CE_PG_BIN is not set: run `make test`")
        let (status, dump) = try ChildProcess.run(bin + "/pg_dump", ["--dbname=\(url)", "--no-owner"])
        #expect(status == 0)
        return Data(dump.utf8)
    }

    @Test(arguments: Backend.allCases)
    func canarySecretsAppearNowhereInStorage(_ backend: Backend) async throws {
        try await StoreHarness.with(backend) { harness in
            try await harness.withStore(try StoreHarness.ring("k1")) { store in
                let owner = try await Self.acmeOwner(in: store)
                let canaries = (0..<20).map { "canary-\($0)-\(UUID().uuidString)" }
                for (index, canary) in canaries.enumerated() {
                    _ = try await store.createConnector(Self.connector("c\(index)", secret: canary), organization: "acme", by: owner.id)
                }
                // The round trip works, so the canaries are really stored.
                let listed = try await store.connectors(organization: "acme", visibleTo: owner.id, query: ConnectorQuery())
                #expect(Set(listed.connectors.compactMap { $0.metadata["password"]?.stringValue }) == Set(canaries))
                let raw: Data
                switch backend {
                case .sqlite: raw = Self.sqliteBytes(harness.storageName)
                case .postgres: raw = try Self.postgresDump(harness.storageName)
                }
                #expect(raw.count > 1000)
                #expect(raw.range(of: Data("db.example".utf8)) == nil, "non-secret metadata is sealed too")
                for canary in canaries {
                    #expect(raw.range(of: Data(canary.utf8)) == nil, "\(canary) found in \(backend) storage")
                }
            }
        }
    }

    /// A fresh store of organization `acme` whose admin owns `count` connectors `c0`, `c1`, …
    /// (passwords `pw0`, `pw1`, …), all sealed under the key `old`; `new` is a second key.
    private static func storeSealedUnderOldKey(
        _ harness: StoreHarness, count: Int
    ) async throws -> (old: EncryptionKey, new: EncryptionKey, owner: User, ids: [UUID]) {
        let old = try EncryptionKey.generate(id: "old")
        let new = try EncryptionKey.generate(id: "new")
        return try await harness.withStore(try KeyRing(primary: old)) { before in
            let owner = try await acmeOwner(in: before)
            var ids: [UUID] = []
            for index in 0..<count {
                ids.append(
                    try await before.createConnector(connector("c\(index)", secret: "pw\(index)"), organization: "acme", by: owner.id).id)
            }
            return (old, new, owner, ids)
        }
    }

    @Test(arguments: Backend.allCases)
    func rotationResealsEveryRowAndIsSafeToRepeat(_ backend: Backend) async throws {
        try await StoreHarness.with(backend) { harness in
            let (old, new, owner, _) = try await Self.storeSealedUnderOldKey(harness, count: 7)

            // Without the old key the store refuses to start, naming the missing key id.
            do {
                try await harness.withStore(try KeyRing(primary: new)) { _ in }
                Issue.record("opened a store whose key is missing")
            } catch {
                #expect("\(error)".contains("'old'"))
            }

            try await harness.withStore(try KeyRing(primary: new, others: [old])) { rotating in
                let progress = ProgressLog()
                let resealed = try await rotating.rotateKeys { done, total in progress.append("\(done)/\(total)") }
                #expect(resealed == 7)
                #expect(progress.lines.last == "7/7")
                #expect(try await rotating.keyUsage() == ["new": 7])
                #expect(try await rotating.rotateKeys() == 0)
            }

            // The old key can now be dropped.
            try await harness.withStore(try KeyRing(primary: new)) { after in
                let page = try await after.connectors(organization: "acme", visibleTo: owner.id, query: ConnectorQuery())
                #expect(page.connectors.count == 7)
                #expect(Set(page.connectors.compactMap { $0.metadata["password"]?.stringValue }) == Set((0..<7).map { "pw\($0)" }))
            }
        }
    }

    /// Issue 7: updates while `rotate-keys` runs. Each row's update starts as the rotation
    /// reaches that row (from its progress callback): the interleaving in which a re-read without
    /// a row lock let the rotation write the old plaintext back over a committed update. Every
    /// row must end with the value of its update.
    @Test(arguments: Backend.allCases)
    func rotationDoesNotUndoConcurrentUpdates(_ backend: Backend) async throws {
        try await StoreHarness.with(backend) { harness in
            let (old, new, owner, created) = try await Self.storeSealedUnderOldKey(harness, count: 24)
            // The order in which the rotation visits the rows.
            let ids = created.sorted { $0.uuidString.lowercased() < $1.uuidString.lowercased() }

            try await harness.withStore(try KeyRing(primary: new, others: [old])) { store in
                let updates = Mutex<[Task<(UUID, String), any Error>]>([])
                @Sendable func update(_ index: Int) {
                    guard index < ids.count else { return }
                    let id = ids[index]
                    let value = "after-\(index)"
                    let task = Task {
                        _ = try await store.updateConnector(id: id, organization: "acme", by: owner.id, change: ConnectorChange()) { _ in
                            Self.connector("c\(index)", secret: value).metadata
                        }
                        return (id, value)
                    }
                    updates.withLock { $0.append(task) }
                }
                update(0)
                try await store.rotateKeys { done, _ in update(done) }
                var expected: [UUID: String] = [:]
                for task in updates.withLock({ $0 }) {
                    let (id, value) = try await task.value
                    expected[id] = value
                }
                #expect(expected.count == ids.count)
                for id in ids {
                    let stored = try await store.connector(id: id, organization: "acme")?.metadata["password"]?.stringValue
                    #expect(stored == expected[id], "\(backend): the rotation undid the update of \(id)")
                }
                #expect(try await store.keyUsage() == ["new": ids.count])
            }
        }
    }

    @Test(arguments: Backend.allCases)
    func aCiphertextMovedToAnotherRowDoesNotOpen(_ backend: Backend) async throws {
        try await StoreHarness.with(backend) { harness in
            try await harness.withStore(try StoreHarness.ring("k1")) { store in
                let owner = try await Self.acmeOwner(in: store)
                let victim = try await store.createConnector(Self.connector("victim", secret: "victim-pw"), organization: "acme", by: owner.id)
                let attacker = try await store.createConnector(Self.connector("attacker", secret: "attacker-pw"), organization: "acme", by: owner.id)
                let victimID = victim.id.uuidString.lowercased()
                let attackerID = attacker.id.uuidString.lowercased()
                try await store.database.write { db in
                    try await db.raw(
                        "UPDATE connectors SET metadata = (SELECT metadata FROM connectors WHERE id = \(bind: victimID)) WHERE id = \(bind: attackerID)"
                    ).run()
                }
                await #expect(throws: KeyRingError.self) { _ = try await store.connector(id: attacker.id, organization: "acme") }
                #expect(try await store.connector(id: victim.id, organization: "acme")?.metadata["password"] == "victim-pw")
            }
        }
    }

    @Test(arguments: Backend.allCases)
    func aWrongKeyIsAStartUpErrorNotGarbage(_ backend: Backend) async throws {
        try await StoreHarness.with(backend) { harness in
            try await harness.withStore(try StoreHarness.ring("k1")) { store in
                let owner = try await Self.acmeOwner(in: store)
                _ = try await store.createConnector(Self.connector("c", secret: "pw"), organization: "acme", by: owner.id)
            }
            // Same id, different key material.
            do {
                try await harness.withStore(try StoreHarness.ring("k1")) { _ in }
                Issue.record("opened a store with the wrong key")
            } catch {
                #expect("\(error)".contains("'k1'") && "\(error)".contains("wrong key"))
            }
        }
    }
}

/// Collects progress lines from a `@Sendable` callback.
final class ProgressLog: Sendable {
    private let storage = Mutex<[String]>([])
    func append(_ line: String) { storage.withLock { $0.append(line) } }
    var lines: [String] { storage.withLock { $0 } }
}
