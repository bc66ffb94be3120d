import ConnectorCore
import Foundation
import SQLKit

/// Health history (DESIGN §2): every check of a stored connector, whatever started it, and the
/// newest one per connector (`connector_health`, shown as `last_health`).
extension ConnectorStore {
    /// Records one check of `connector`: a history row, the connector's last health (unless a
    /// newer check is already recorded) and, when its state changed, notifications; one transaction.
    public func recordHealthCheck(
        _ report: ProbeReport, connector: UUID, organization: String, trigger: HealthTrigger, warnings: JSONValue = [],
        at date: Date = Date()
    ) async throws {
        let key = ConnectorKey(organization: organization, id: connector)
        defer { connectorCache.forget(key) }
        let id = Self.key(connector)
        let checkedAt = Timestamp.from(date)
        let stage = report.stage?.rawValue
        let stages = String(decoding: report.stagesJSON.serialized(), as: UTF8.self)
        let warningText = String(decoding: warnings.serialized(), as: UTF8.self)
        try await database.write { db in
            // A connector deleted while its check ran leaves no history.
            guard
                let row = try await db.raw(
                    "SELECT connector_name, created_by FROM connectors WHERE id = \(bind: id) AND organization_id = \(bind: organization)\(unsafeRaw: self.rowLock)"
                ).first()
            else { return }
            let previous = try await db.raw("SELECT checked_at, code FROM connector_health WHERE connector_id = \(bind: id)").first()
            try await db.insert(into: "health_checks")
                .columns(
                    "organization_id", "connector_id", "checked_at", "code", "stage", "attr", "detail", "hint", "elapsed_ms", "stages",
                    "warnings", "triggered_via", "job_id", "triggered_by"
                )
                .values(
                    SQLBind(organization), SQLBind(id), SQLBind(checkedAt), SQLBind(report.code.rawValue), SQLBind(stage),
                    SQLBind(report.attr), SQLBind(report.detail), SQLBind(report.hint), SQLBind(report.elapsedMilliseconds),
                    SQLBind(stages), SQLBind(warningText), SQLBind(trigger.via), SQLBind(trigger.jobID.map(Self.key)),
                    SQLBind(trigger.user)
                )
                .run()
            try await db.raw(
                """
                INSERT INTO connector_health (connector_id, checked_at, code, stage) \
                VALUES (\(bind: id), \(bind: checkedAt), \(bind: report.code.rawValue), \(bind: stage)) \
                ON CONFLICT (connector_id) DO UPDATE SET checked_at = excluded.checked_at, code = excluded.code, \
                stage = excluded.stage WHERE connector_health.checked_at <= excluded.checked_at
                """
            ).run()
            // A change of state (never checked or valid → failing, failing → valid) tells the
            // owner and the shared users once, not at every failing check; not the one who ran it.
            let previousCheck = try previous.map {
                (at: try $0.decode(column: "checked_at", as: Int64.self), valid: try $0.decode(column: "code", as: String.self) == "ok")
            }
            if let previousCheck, previousCheck.at > checkedAt { return }
            guard (previousCheck?.valid ?? true) != report.isValid else { return }
            let owner = try row.decode(column: "created_by", as: Int64?.self)
            let shared = try await db.select().column("user_id").from("connector_shares").where("connector_id", .equal, id).all()
                .map { try $0.decode(column: "user_id", as: Int64.self) }
            let recipients = Set(([owner].compactMap { $0 } + shared)).subtracting([trigger.user].compactMap { $0 })
            for user in recipients.sorted() {
                try await self.notify(
                    user, kind: report.isValid ? "connector_recovered" : "connector_failing", connector: connector,
                    name: try row.decode(column: "connector_name", as: String.self), organization: organization, by: nil,
                    now: checkedAt, db: db)
            }
        }
    }

    /// A page of `connector`'s history, newest first (the caller checks that it may see it).
    /// - Parameters:
    ///   - page: 1-based page number.
    public func healthHistory(connector: UUID, organization: String, page: Int, pageSize: Int) async throws -> HealthHistoryPage {
        let id = Self.key(connector)
        return try await database.read { db in
            let count =
                try await db.raw(
                    "SELECT COUNT(*) AS n FROM health_checks WHERE connector_id = \(bind: id) AND organization_id = \(bind: organization)"
                ).first()?.decode(column: "n", as: Int.self) ?? 0
            let rows = try await db.raw(
                """
                SELECT id, connector_id, checked_at, code, stage, attr, detail, hint, elapsed_ms, stages, warnings, triggered_via, \
                job_id, triggered_by FROM health_checks WHERE connector_id = \(bind: id) AND organization_id = \(bind: organization) \
                ORDER BY checked_at DESC, id DESC LIMIT \(literal: pageSize) OFFSET \(literal: (page - 1) * pageSize)
                """
            ).all()
            return HealthHistoryPage(count: count, checks: try rows.map(Self.decodeHealthCheck))
        }
    }

    /// Removes history older than `cutoff` (the last health of each connector stays).
    /// - Returns: how many rows went.
    @discardableResult
    public func pruneHealthHistory(olderThan cutoff: Date) async throws -> Int {
        try await database.write { db in
            try await db.delete(from: "health_checks").where("checked_at", .lessThan, SQLBind(Timestamp.from(cutoff)))
                .returning("id").all().count
        }
    }

    private static func decodeHealthCheck(_ row: any SQLRow) throws -> HealthCheckRecord {
        HealthCheckRecord(
            id: try row.decode(column: "id", as: Int64.self),
            connectorID: try uuid(try row.decode(column: "connector_id", as: String.self)),
            checkedAt: Timestamp.date(try row.decode(column: "checked_at", as: Int64.self)),
            code: try row.decode(column: "code", as: String.self),
            stage: try row.decode(column: "stage", as: String?.self),
            attr: try row.decode(column: "attr", as: String?.self),
            detail: try row.decode(column: "detail", as: String.self),
            hint: try row.decode(column: "hint", as: String.self),
            elapsedMilliseconds: try row.decode(column: "elapsed_ms", as: Double.self),
            stages: try JSONValue.parse(Array(try row.decode(column: "stages", as: String.self).utf8)),
            warnings: try JSONValue.parse(Array(try row.decode(column: "warnings", as: String.self).utf8)),
            triggeredVia: try row.decode(column: "triggered_via", as: String.self),
            jobID: try row.decode(column: "job_id", as: String?.self).map(uuid),
            triggeredBy: try row.decode(column: "triggered_by", as: Int64?.self))
    }
}
