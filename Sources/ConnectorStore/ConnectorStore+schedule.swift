import ConnectorCore
import Foundation
import SQLKit

/// The scheduled health checks' shared state (DESIGN §2, issue 10): when each connector is due,
/// and which replica holds it. Replicas on one PostgreSQL store take due connectors with
/// `FOR UPDATE SKIP LOCKED`, so two never take the same one; a lease that is not completed (its
/// replica died) expires and the connector is taken again. SQLite runs the same statements
/// without the lock clause (one writer at a time).
extension ConnectorStore {
    /// Leases up to `limit` due connectors to `owner` until `now + lease`, oldest due first.
    /// Connectors never scheduled join the schedule first, due at `firstDue(now)` each (spread
    /// over the interval, so a store of ten thousand does not fall due at once).
    public func leaseDueConnectors(
        owner: String, now: Date, lease: Duration, limit: Int, firstDue: @escaping @Sendable (Date) -> Date
    ) async throws -> [StoredConnector] {
        let at = Timestamp.from(now)
        let until = at + lease.components.seconds * 1_000_000
        let lockClause = database.backend == .postgres ? " FOR UPDATE SKIP LOCKED" : ""
        let leased = try await database.write { db -> [String] in
            let unscheduled = try await db.raw(
                "SELECT c.id FROM connectors c LEFT JOIN health_schedule s ON s.connector_id = c.id WHERE s.connector_id IS NULL"
            ).all().map { try $0.decode(column: "id", as: String.self) }
            for id in unscheduled {
                try await db.raw(
                    """
                    INSERT INTO health_schedule (connector_id, due_at) VALUES (\(bind: id), \(bind: Timestamp.from(firstDue(now)))) \
                    ON CONFLICT (connector_id) DO NOTHING
                    """
                ).run()
            }
            return try await db.raw(
                """
                UPDATE health_schedule SET lease_owner = \(bind: owner), lease_until = \(bind: until) WHERE connector_id IN (\
                SELECT connector_id FROM health_schedule WHERE due_at <= \(bind: at) AND (lease_until IS NULL OR lease_until <= \(bind: at)) \
                ORDER BY due_at LIMIT \(literal: limit)\(unsafeRaw: lockClause)) RETURNING connector_id
                """
            ).all().map { try $0.decode(column: "connector_id", as: String.self) }
        }
        guard !leased.isEmpty else { return [] }
        return try await connectors(ids: leased)
    }

    /// Ends `owner`'s lease of `connector`: next due at `nextDue`. False when the lease was lost
    /// (it expired and another replica took the connector).
    @discardableResult
    public func completeLease(connector: UUID, owner: String, nextDue: Date) async throws -> Bool {
        try await database.write { db in
            try await !db.raw(
                """
                UPDATE health_schedule SET due_at = \(bind: Timestamp.from(nextDue)), lease_owner = NULL, lease_until = NULL \
                WHERE connector_id = \(bind: Self.key(connector)) AND lease_owner = \(bind: owner) RETURNING connector_id
                """
            ).all().isEmpty
        }
    }
}
