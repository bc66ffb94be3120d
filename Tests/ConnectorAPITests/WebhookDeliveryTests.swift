import ConnectorAPI
import ConnectorCore
import ConnectorStore
import Foundation
import Hummingbird
import HummingbirdTesting
import JSONOracle
import Logging
import Synchronization
import TestSupport
import Testing

/// A webhook receiver on loopback that fails the first `failures` deliveries with 500.
final class Receiver: Sendable {
    let failures: Int
    private let received = Mutex<[JSONValue]>([])
    init(failures: Int) { self.failures = failures }

    var bodies: [JSONValue] { received.withLock { $0 } }

    func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.post("hook") { request, _ -> Response in
            var request = request
            let body = try await request.collectBody(upTo: 1 << 16)
            let json = try JSONDecoder().decode(JSONValue.self, from: Data(body.readableBytesView))
            let count = self.received.withLock {
                $0.append(json); return $0.count
            }
            return Response(status: count <= self.failures ? .internalServerError : .noContent)
        }
        return router
    }
}

@Suite struct WebhookDeliveryTests {
    @Test func failedDeliveriesAreRetriedWithBackoffUntilDelivered() async throws {
        try await TemporaryStore.with(queuesWebhooks: true) { temporary in
            let (bob, _) = try await temporary.member("bob")
            let connector = try await temporary.store.createConnector(
                NewConnector(
                    name: "shared", typeID: "postgresql|6db35f45-be11-4fd5-80c5-85c48183afbb", mode: "DATABASE",
                    metadata: ["host": "h", "port": "5432", "database": "d", "user": "u", "password": "webhook-canary"]),
                organization: "default", by: temporary.admin.id)
            _ = try await temporary.store.updateConnector(
                id: connector.id, organization: "default", by: temporary.admin.id, change: ConnectorChange(sharedUsers: [bob.id]),
                merge: { _ in nil })
            let note = try #require(try await temporary.store.notifications(organization: "default", userID: bob.id).first)

            let receiver = Receiver(failures: 2)
            let app = Application(router: receiver.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
            try await app.test(.live) { client in
                let port = try #require(client.port)
                var policy = WebhookDelivery.Policy()
                policy.baseDelay = .seconds(5)
                let delivery = WebhookDelivery(
                    store: temporary.store, url: URL(string: "http://127.0.0.1:\(port)/hook")!, policy: policy,
                    logger: Logger(label: "webhook-test"))
                let start = Date()
                #expect(try await delivery.deliverDue(now: start) == 0)
                #expect(try await temporary.store.webhookState(notification: note.id)?.attempts == 1)
                // Not due again until the backoff has passed: 5 s, then 10 s.
                #expect(try await delivery.deliverDue(now: start.addingTimeInterval(4)) == 0)
                #expect(receiver.bodies.count == 1)
                #expect(try await delivery.deliverDue(now: start.addingTimeInterval(6)) == 0)
                #expect(receiver.bodies.count == 2)
                #expect(try await delivery.deliverDue(now: start.addingTimeInterval(6 + 9)) == 0)
                #expect(receiver.bodies.count == 2)
                #expect(try await delivery.deliverDue(now: start.addingTimeInterval(6 + 11)) == 1)
                let state = try await temporary.store.webhookState(notification: note.id)
                #expect(state?.attempts == 3 && state?.delivered == true)
                // Delivered once is done: nothing more is sent.
                #expect(try await delivery.deliverDue(now: start.addingTimeInterval(3600)) == 0)
                #expect(receiver.bodies.count == 3)
                let body = try #require(receiver.bodies.last)
                #expect(body["resource_name"] == "shared" && body["user_id"] == .number(Double(bob.id)))
                #expect(!"\(receiver.bodies)".contains("webhook-canary"))
            }
        }
    }

    @Test func backoffDoublesUpToTheCapAndGivesUp() {
        var policy = WebhookDelivery.Policy()
        policy.baseDelay = .seconds(5)
        policy.maxDelay = .seconds(30)
        policy.maxAttempts = 5
        let now = Date(timeIntervalSince1970: 0)
        let delays = (1...5).map { policy.retryDate(after: $0, from: now)?.timeIntervalSince1970 }
        #expect(delays == [5, 10, 20, 30, nil])
    }

    static func sharedConnector(_ temporary: TemporaryStore, name: String = "shared") async throws -> StoredConnector {
        try await temporary.store.createConnector(
            NewConnector(
                name: name, typeID: "postgresql|6db35f45-be11-4fd5-80c5-85c48183afbb", mode: "DATABASE",
                metadata: ["host": "h", "port": "5432", "database": "d", "user": "u", "password": "p"]),
            organization: "default", by: temporary.admin.id)
    }

    static func share(_ temporary: TemporaryStore, _ connector: StoredConnector, with users: [Int64]) async throws {
        _ = try await temporary.store.updateConnector(
            id: connector.id, organization: "default", by: temporary.admin.id, change: ConnectorChange(sharedUsers: users),
            merge: { _ in nil })
    }

    /// Issue 8 §10: toggling a share does not flood the user or the webhook.
    @Test func togglingAShareNotifiesOncePerWindow() async throws {
        try await TemporaryStore.with(queuesWebhooks: true) { temporary in
            let (bob, _) = try await temporary.member("bob")
            let connector = try await Self.sharedConnector(temporary)
            for _ in 0..<10 {
                try await Self.share(temporary, connector, with: [bob.id])
                try await Self.share(temporary, connector, with: [])
            }
            let notes = try await temporary.store.notifications(organization: "default", userID: bob.id)
            #expect(notes.count == 1)
            #expect(try await temporary.store.dueWebhooks(now: Date().addingTimeInterval(1)).count == 1)
            // Another connector shared with the same user is news.
            try await Self.share(temporary, try await Self.sharedConnector(temporary, name: "other"), with: [bob.id])
            #expect(try await temporary.store.notifications(organization: "default", userID: bob.id).count == 2)
        }
    }

    /// Issue 8 §10: deliveries run side by side, and delivered rows are pruned.
    @Test func deliveriesRunConcurrentlyAndDeliveredRowsArePruned() async throws {
        try await TemporaryStore.with(queuesWebhooks: true) { temporary in
            var users: [Int64] = []
            for name in ["u1", "u2", "u3", "u4"] { users.append(try await temporary.member(name).0.id) }
            try await Self.share(temporary, try await Self.sharedConnector(temporary), with: users)
            // The receiver answers only once four requests are open at once: posted one after
            // another, the first would wait for the others until the client gave up.
            let waiting = Mutex<[CheckedContinuation<Void, Never>]>([])
            let router = Router()
            router.post("hook") { _, _ -> Response in
                await withCheckedContinuation { continuation in
                    let all = waiting.withLock { waiting -> [CheckedContinuation<Void, Never>] in
                        waiting.append(continuation)
                        return waiting.count == 4 ? waiting : []
                    }
                    all.forEach { $0.resume() }
                }
                return Response(status: .noContent)
            }
            let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
            try await app.test(.live) { client in
                var policy = WebhookDelivery.Policy()
                policy.concurrency = 4
                let delivery = WebhookDelivery(
                    store: temporary.store, url: URL(string: "http://127.0.0.1:\(try #require(client.port))/hook")!, policy: policy,
                    logger: Logger(label: "webhook-test"))
                #expect(try await delivery.deliverDue(now: Date()) == 4)
            }
            let note = try #require(try await temporary.store.notifications(organization: "default", userID: users[0]).first)
            #expect(try await temporary.store.webhookState(notification: note.id)?.delivered == true)
            #expect(try await temporary.store.pruneDeliveredWebhooks(before: Date().addingTimeInterval(-60)) == 0)
            #expect(try await temporary.store.pruneDeliveredWebhooks(before: Date().addingTimeInterval(60)) == 4)
            #expect(try await temporary.store.webhookState(notification: note.id) == nil)
            #expect(try await temporary.store.notifications(organization: "default", userID: users[0]).count == 1)
        }
    }
}
