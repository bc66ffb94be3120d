import ConnectorCore
import ConnectorStore
import Encryption
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import ProbeEngine
import Synchronization
import TestProcesses
import TestSupport
import Testing

@testable import ConnectorAPI

/// Issue 13: a PostgreSQL store that stops answering (its connections cut and new ones refused,
/// by a relay between server and store) gives 503 `store_unavailable` within the store timeout,
/// one log line when it goes and one when it is back, and the first request after it is back
/// succeeds. Testing unsaved credentials, which needs nothing from the store but the token check,
/// goes on through the outage for a token the store had vouched for.
@Suite struct StoreOutageTests {
    @Test func aStoreOutageIsA503WithinTheTimeoutAndTheFirstRequestAfterItSucceeds() async throws {
        try await TestDatabase.with(.postgres) { try await Self.run(on: $0) }
    }

    private static func run(on database: TestDatabase) async throws {
        guard case .postgres(let url) = database.location, var parts = URLComponents(string: url), let target = parts.port else {
            Issue.record("not a PostgreSQL test database")
            return
        }
        let relay = try TCPRelay(to: target)
        parts.port = relay.port
        let log = CapturedLog()
        let engine = try CRUDWorld.closedEndpointsEngine()
        defer { engine.shutdown() }
        let ring = try KeyRing(primary: try EncryptionKey.generate(id: "k"))
        try await ConnectorStore.withStore(.postgres(url: try #require(parts.string)), keyRing: ring, logger: log.logger, timeout: .seconds(1)) {
            store in
            let (_, admin, token) = try await store.bootstrap(organization: "default", email: "admin@default.test")
            let unused = try await store.issueToken(userID: admin.id, name: "never used before the outage")
            let revoked = try await store.issueToken(userID: admin.id, name: "revoked by another process before the outage")
            let probe: JSONValue = [
                "connector_id": "postgresql|6db35f45-be11-4fd5-80c5-85c48183afbb",
                "connector_metadata": ["host": "169.254.169.254", "port": "5432", "database": "d", "user": "u", "password": "p"],
            ]
            let app = Application(router: buildRouter(engine: engine, store: store))
            try await app.test(.router) { client in
                let api = APIClient(client: client, base: "/api/v1/unstract/default")
                #expect(try await api.call(.get, "/connector/", token: token.secret).status == 200)
                // Vouched for, then revoked by another process (as the admin CLI does), then
                // presented once more while the store answers: it has no last answer to fall back on.
                #expect(try await api.call(.post, "/test_connectors/", token: revoked.secret, body: probe).status == 403)
                let revokedElsewhere = try await ConnectorStore.withStore(database.location, keyRing: ring, logger: Logger(label: "admin")) {
                    try await $0.revokeToken(id: revoked.record.id)
                }
                #expect(revokedElsewhere)
                #expect(try await api.call(.post, "/test_connectors/", token: revoked.secret, body: probe).status == 401)

                relay.cut()
                for _ in 0..<3 {
                    let started = ContinuousClock.now
                    let refused = try await api.call(.get, "/connector/", token: token.secret)
                    // The bound, with room for a loaded machine: the pool alone waited about 20 s.
                    #expect(ContinuousClock.now - started < .seconds(10))
                    #expect(refused.status == 503 && refused.firstError?["code"] == "store_unavailable", "\(refused.text)")
                    #expect(refused.json["type"] == "server_error" && refused.headers[.retryAfter] == "5")
                }
                // The probe runs (the engine's own verdict: this address is not allowed), where a
                // token the store never vouched for cannot be checked.
                let tested = try await api.call(.post, "/test_connectors/", token: token.secret, body: probe)
                #expect(tested.status == 403 && tested.firstError?["code"] == "egress_denied", "\(tested.text)")
                let unknown = try await api.call(.post, "/test_connectors/", token: unused.secret, body: probe)
                #expect(unknown.status == 503 && unknown.firstError?["code"] == "store_unavailable", "\(unknown.text)")
                let stillRevoked = try await api.call(.post, "/test_connectors/", token: revoked.secret, body: probe)
                #expect(stillRevoked.status == 503 && stillRevoked.firstError?["code"] == "store_unavailable", "\(stillRevoked.text)")
                let readiness = try await APIClient(client: client).call(.get, "/readyz", token: nil)
                #expect(readiness.status == 503 && readiness.json["failing"] == ["store"])

                try relay.restore()
                let back = try await api.call(.get, "/connector/", token: token.secret)
                #expect(back.status == 200, "\(back.text)")
            }
        }
        #expect(log.count(of: "store unreachable") == 1)
        #expect(log.count(of: "store reachable again") == 1, "\(log.all)")
    }
}

/// Log lines kept in memory, to count what a component logged.
final class CapturedLog: Sendable {
    private let lines = Mutex<[String]>([])

    var logger: Logger {
        var logger = Logger(label: "captured") { _ in Handler(log: self) }
        logger.logLevel = .info
        return logger
    }

    var all: [String] { lines.withLock { $0 } }

    func count(of message: String) -> Int {
        lines.withLock { $0.filter { $0 == message }.count }
    }

    fileprivate func append(_ line: String) {
        lines.withLock { $0.append(line) }
    }

    private struct Handler: LogHandler {
        let log: CapturedLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .info

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            log.append(event.message.description)
        }
    }
}
