import ConnectorCore
import ConnectorStore
import Foundation
import Logging
import ProbeEngine
import ServiceLifecycle

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Delivers share notifications to an operator-configured webhook from the store's outbox:
/// at least once, oldest first, retrying failures with exponential backoff. A failing webhook
/// never affects the request that created the notification (that transaction only wrote the
/// outbox row).
public struct WebhookDelivery: Service {
    public struct Policy: Sendable {
        /// Delay before the first retry; doubled after every failure up to `maxDelay`.
        public var baseDelay: Duration = .seconds(5)
        public var maxDelay: Duration = .seconds(600)
        /// Attempts after which a notification is given up (kept, with its last error).
        public var maxAttempts = 10
        public var requestTimeout: Duration = .seconds(10)
        public var pollInterval: Duration = .seconds(1)
        /// Posts in flight at once, so one slow answer does not hold up the rest.
        public var concurrency = 8
        /// Delivered outbox rows are removed after this long.
        public var keepDelivered: Duration = .seconds(86_400)

        public init() {}

        /// When to try again after `attempts` failures; nil when it is time to give up.
        public func retryDate(after attempts: Int, from now: Date) -> Date? {
            guard attempts < maxAttempts else { return nil }
            let factor = pow(2.0, Double(max(0, attempts - 1)))
            let delay = min(Double(baseDelay.components.seconds) * factor, Double(maxDelay.components.seconds))
            return now.addingTimeInterval(delay)
        }
    }

    let store: ConnectorStore
    let url: URL
    let policy: Policy
    let logger: Logger

    public init(store: ConnectorStore, url: URL, policy: Policy = Policy(), logger: Logger) {
        self.store = store
        self.url = url
        self.policy = policy
        self.logger = logger
    }

    public func run() async throws {
        await repeatPasses(pause: policy.pollInterval, logger: logger, failure: "webhook outbox pass failed") {
            let now = Date()
            _ = try await deliverDue(now: now)
            try await store.pruneDeliveredWebhooks(before: now.addingTimeInterval(-Double(policy.keepDelivered.components.seconds)))
            return false
        }
    }

    /// One pass over the outbox: posts every due notification once.
    /// - Returns: how many were delivered.
    @discardableResult
    public func deliverDue(now: Date) async throws -> Int {
        let due = try await store.dueWebhooks(now: now)
        // Posted `concurrency` at a time; each outcome is recorded as it comes.
        let outcomes = boundedConcurrently(due.count, limit: policy.concurrency) { index in await post(due[index].notification) }
        var delivered = 0
        for await (index, failure) in outcomes {
            let (note, attempts) = due[index]
            if failure == nil { delivered += 1 }
            let retry = failure == nil ? nil : policy.retryDate(after: attempts + 1, from: now)
            try await store.recordWebhookAttempt(notification: note.id, delivered: failure == nil, error: failure, retryAt: retry)
            if let failure {
                logger.info(
                    "webhook delivery failed",
                    metadata: [
                        "notification": "\(note.id)", "attempt": "\(attempts + 1)", "error": "\(failure)",
                        "retry": "\(retry.map { "\($0)" } ?? "given up")",
                    ])
            }
        }
        return delivered
    }

    /// The JSON a webhook receives: what happened to which connector (shared with a user, or
    /// its health changed), for whom, by whom. Never metadata.
    static func payload(_ note: ShareNotification) -> JSONValue {
        let event: JSONValue =
            switch note.kind {
            case "connector_failing": "connector.failing"
            case "connector_recovered": "connector.recovered"
            default: "connector.shared"
            }
        return [
            "event": event,
            "notification_id": .string(note.id.uuidString.lowercased()),
            "organization": .string(note.organizationID),
            "user_id": .number(Double(note.userID)),
            "resource_type": .string(note.resourceType),
            "resource_id": .string(note.resourceID),
            "resource_name": .string(note.resourceName),
            "shared_by": note.sharedBy.map { .number(Double($0)) } ?? .null,
            "created_at": .string(ConnectorRepresentation.timestamp(note.createdAt)),
        ]
    }

    /// Posts one notification; nil on a 2xx answer, otherwise why it failed (status or error kind).
    private func post(_ note: ShareNotification) async -> String? {
        var request = URLRequest(url: url, timeoutInterval: Double(policy.requestTimeout.components.seconds))
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue(note.id.uuidString.lowercased(), forHTTPHeaderField: "Idempotency-Key")
        do {
            request.httpBody = Data(Self.payload(note).serialized())
            let (_, response) = try await URLSession.shared.data(for: request)
            guard let http = response as? HTTPURLResponse else { return "no HTTP response" }
            return (200..<300).contains(http.statusCode) ? nil : "HTTP \(http.statusCode)"
        } catch let error as URLError {
            return "URLError \(error.code.rawValue)"
        } catch {
            return "\(type(of: error))"
        }
    }
}
