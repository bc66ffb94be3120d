import Encryption
import Foundation
import SQLKit

/// Notifications, the webhook outbox, the audit log and workflows.
extension ConnectorStore {
    // MARK: Notifications

    /// A user told of a share is not told again of the same connector within this window, so
    /// toggling `shared_users` cannot flood them (or the webhook).
    public static let shareNotificationWindow: Duration = .seconds(3600)

    func notifyShared(
        users: [Int64], connector: UUID, name: String, organization: String, by sharer: Int64, now: Int64, db: any SQLDatabase
    ) async throws {
        guard !users.isEmpty else { return }
        let since = now - Int64(Self.shareNotificationWindow.components.seconds) * 1_000_000
        let recent = Set(
            try await db.select().column("user_id").from("notifications").where("resource_id", .equal, Self.key(connector))
                .where("created_at", .greaterThan, since).all().map { try $0.decode(column: "user_id", as: Int64.self) })
        for user in users where !recent.contains(user) {
            try await notify(
                user, kind: "shared", connector: connector, name: name, organization: organization, by: sharer, now: now, db: db)
        }
    }

    /// Adds one notification about `connector` for `user` (and its webhook outbox entry).
    /// - Parameter kind: `shared`, `connector_failing` or `connector_recovered`.
    func notify(
        _ user: Int64, kind: String, connector: UUID, name: String, organization: String, by actor: Int64?, now: Int64,
        db: any SQLDatabase
    ) async throws {
        let id = Self.key(UUID())
        try await db.insert(into: "notifications")
            .columns("id", "organization_id", "user_id", "kind", "resource_type", "resource_id", "resource_name", "shared_by", "created_at")
            .values(
                SQLBind(id), SQLBind(organization), SQLBind(user), SQLBind(kind), SQLBind("connector"), SQLBind(Self.key(connector)),
                SQLBind(name), SQLBind(actor), SQLBind(now)
            ).run()
        if queuesWebhooks {
            try await db.insert(into: "webhook_outbox").columns("notification_id", "attempts", "next_attempt_at")
                .values(SQLBind(id), SQLBind(0), SQLBind(now)).run()
        }
    }

    /// The user's notifications in one organization, newest first.
    public func notifications(organization: String, userID: Int64, limit: Int = 100) async throws -> [ShareNotification] {
        try await database.read { db in
            try await db.select().columns("*").from("notifications").where("organization_id", .equal, organization)
                .where("user_id", .equal, userID).orderBy("created_at", .descending).orderBy("id").limit(limit).all()
                .map(Self.notification)
        }
    }

    static func notification(_ row: any SQLRow) throws -> ShareNotification {
        ShareNotification(
            id: try uuid(try row.decode(column: "id", as: String.self)),
            organizationID: try row.decode(column: "organization_id", as: String.self),
            userID: try row.decode(column: "user_id", as: Int64.self), kind: try row.decode(column: "kind", as: String.self),
            resourceType: try row.decode(column: "resource_type", as: String.self),
            resourceID: try row.decode(column: "resource_id", as: String.self),
            resourceName: try row.decode(column: "resource_name", as: String.self),
            sharedBy: try row.decode(column: "shared_by", as: Int64?.self),
            createdAt: Timestamp.date(try row.decode(column: "created_at", as: Int64.self)))
    }

    // MARK: Webhook outbox

    /// Notifications whose webhook is due and not yet delivered, oldest first.
    public func dueWebhooks(now: Date = Date(), limit: Int = 50) async throws -> [(notification: ShareNotification, attempts: Int)] {
        try await database.read { db in
            try await db.raw(
                """
                SELECT n.*, o.attempts FROM webhook_outbox o JOIN notifications n ON n.id = o.notification_id
                WHERE o.delivered_at IS NULL AND o.next_attempt_at <= \(bind: Timestamp.from(now))
                ORDER BY o.next_attempt_at LIMIT \(literal: limit)
                """
            ).all().map { (try Self.notification($0), try $0.decode(column: "attempts", as: Int.self)) }
        }
    }

    /// Records one delivery attempt: delivered, or failed with the next attempt's time.
    public func recordWebhookAttempt(notification: UUID, delivered: Bool, error: String?, retryAt: Date?) async throws {
        try await database.write { db in
            var update = db.update("webhook_outbox").set(SQLIdentifier("attempts"), to: SQLRaw("attempts + 1"))
            if delivered {
                update = update.set("delivered_at", to: Timestamp.now()).set("last_error", to: SQLLiteral.null)
            } else {
                update = update.set("last_error", to: String((error ?? "").prefix(300)))
                    .set("next_attempt_at", to: Timestamp.from(retryAt ?? Date.distantFuture))
            }
            try await update.where("notification_id", .equal, Self.key(notification)).run()
        }
    }

    /// Removes outbox rows delivered before `date`: the notification stays, its delivery record
    /// goes. - Returns: how many rows went.
    @discardableResult
    public func pruneDeliveredWebhooks(before date: Date) async throws -> Int {
        try await database.write { db in
            let rows = try await db.raw(
                "SELECT COUNT(*) AS n FROM webhook_outbox WHERE delivered_at IS NOT NULL AND delivered_at < \(bind: Timestamp.from(date))"
            ).first()
            try await db.delete(from: "webhook_outbox").where("delivered_at", .isNot, SQLLiteral.null)
                .where("delivered_at", .lessThan, Timestamp.from(date)).run()
            return try rows?.decode(column: "n", as: Int.self) ?? 0
        }
    }

    /// `(attempts, delivered)` of a notification's outbox row, for tests and the CLI.
    public func webhookState(notification: UUID) async throws -> (attempts: Int, delivered: Bool)? {
        try await database.read { db in
            guard
                let row = try await db.select().columns("attempts", "delivered_at").from("webhook_outbox")
                    .where("notification_id", .equal, Self.key(notification)).first()
            else { return nil }
            return (try row.decode(column: "attempts", as: Int.self), try row.decode(column: "delivered_at", as: Int64?.self) != nil)
        }
    }

    // MARK: Audit log

    func recordAudit(
        organization: String, actor: Int64?, action: AuditAction, connector: UUID?, outcome: String, detail: String? = nil,
        db: any SQLDatabase
    ) async throws {
        try await db.insert(into: "audit_log")
            .columns("organization_id", "actor_user_id", "action", "connector_id", "outcome", "at", "detail")
            .values(
                SQLBind(organization), SQLBind(actor), SQLBind(action.rawValue), SQLBind(connector.map(Self.key)), SQLBind(outcome),
                SQLBind(Timestamp.now()), SQLBind(detail)
            ).run()
    }

    /// Records an action outside a store write (a connector test), with its outcome code.
    public func recordAudit(
        organization: String, actor: Int64?, action: AuditAction, connector: UUID?, outcome: String, detail: String? = nil
    ) async throws {
        try await database.write { db in
            try await self.recordAudit(
                organization: organization, actor: actor, action: action, connector: connector, outcome: outcome, detail: detail, db: db)
        }
    }

    /// Records a refused request (``AuditAction/denied``) with its status and what was asked;
    /// nothing is written for an organization that does not exist, so unknown ids cannot fill
    /// the log.
    public func recordDenial(organization: String, actor: Int64?, status: Int, detail: String) async throws {
        guard Self.isValidOrganizationID(organization) else { return }
        try await database.write { db in
            try await db.raw(
                """
                INSERT INTO audit_log (organization_id, actor_user_id, action, connector_id, outcome, at, detail)
                SELECT \(bind: organization), \(bind: actor), \(bind: AuditAction.denied.rawValue), NULL, \(bind: String(status)), \
                \(bind: Timestamp.now()), \(bind: String(detail.prefix(300)))
                WHERE EXISTS (SELECT 1 FROM organizations WHERE id = \(bind: organization))
                """
            ).run()
        }
    }

    /// The newest audit entries, optionally of one organization.
    public func auditLog(organization: String? = nil, limit: Int = 100) async throws -> [AuditEntry] {
        try await database.read { db in
            var query = db.select().columns("*").from("audit_log")
            if let organization { query = query.where("organization_id", .equal, organization) }
            return try await query.orderBy("id", .descending).limit(limit).all().map {
                AuditEntry(
                    id: try $0.decode(column: "id", as: Int64.self),
                    organizationID: try $0.decode(column: "organization_id", as: String.self),
                    actorUserID: try $0.decode(column: "actor_user_id", as: Int64?.self),
                    action: AuditAction(rawValue: try $0.decode(column: "action", as: String.self)) ?? .update,
                    connectorID: try $0.decode(column: "connector_id", as: String?.self),
                    outcome: try $0.decode(column: "outcome", as: String.self),
                    at: Timestamp.date(try $0.decode(column: "at", as: Int64.self)),
                    detail: try $0.decode(column: "detail", as: String?.self))
            }
        }
    }

    // MARK: Workflows

    /// Creates a workflow that uses up to two connectors of the organization.
    /// - Throws: ``ConnectorStoreError/duplicateName(_:)``, ``ConnectorStoreError/notFound`` for a
    ///   connector id that is not in the organization.
    public func createWorkflow(
        name: String, source: UUID?, destination: UUID?, organization: String, by userID: Int64
    ) async throws -> Workflow {
        let id = UUID()
        let now = Timestamp.now()
        do {
            try await database.write { db in
                for connector in [source, destination].compactMap({ $0 }) {
                    let exists = try await db.select().column("id").from("connectors").where("id", .equal, Self.key(connector))
                        .where("organization_id", .equal, organization).first()
                    if exists == nil { throw ConnectorStoreError.notFound }
                }
                try await db.insert(into: "workflows")
                    .columns(
                        "id", "organization_id", "name", "source_connector_id", "destination_connector_id", "created_by", "created_at"
                    )
                    .values(
                        SQLBind(Self.key(id)), SQLBind(organization), SQLBind(name), SQLBind(source.map(Self.key)),
                        SQLBind(destination.map(Self.key)), SQLBind(userID), SQLBind(now)
                    ).run()
            }
        } catch  where ConstraintViolation.classify(error) == .unique {
            throw ConnectorStoreError.duplicateName(name)
        } catch  where ConstraintViolation.classify(error) == .foreignKey {
            throw ConnectorStoreError.notFound
        }
        return Workflow(
            id: id, organizationID: organization, name: name, sourceConnectorID: source, destinationConnectorID: destination,
            createdBy: userID, createdAt: Timestamp.date(now))
    }

    /// The organization's workflows that match `query`, oldest first, with their creators' emails.
    public func workflows(organization: String, matching query: WorkflowQuery = WorkflowQuery()) async throws -> [WorkflowSummary] {
        func connectorColumn(_ column: String) -> SQLQueryString {
            guard let viewer = query.connectorsVisibleTo else { return "workflows.\(unsafeRaw: column)" }
            let visible = Self.connectorIsVisible("c", to: viewer)
            return "(SELECT c.id FROM connectors c WHERE c.id = workflows.\(unsafeRaw: column) AND \(visible))"
        }
        var select: SQLQueryString = """
            SELECT workflows.id, workflows.organization_id, workflows.name, workflows.created_by, workflows.created_at, \
            \(connectorColumn("source_connector_id")) AS source_connector_id, \
            \(connectorColumn("destination_connector_id")) AS destination_connector_id, \
            u.email AS creator_email, \(unsafeRaw: Self.isMember("workflows.created_by", of: "workflows.organization_id")) AS creator_is_member
            FROM workflows LEFT JOIN users u ON u.id = workflows.created_by WHERE workflows.organization_id = \(bind: organization)
            """
        if let id = query.id { select += " AND workflows.id = \(bind: Self.key(id))" }
        if let connector = query.usingConnector {
            select += " AND \(bind: Self.key(connector)) IN (workflows.source_connector_id, workflows.destination_connector_id)"
        }
        if let user = query.knownTo { select += " AND " + Self.workflowIsKnown(to: user) }
        select += " ORDER BY workflows.created_at, workflows.id"
        let listQuery = select
        return try await database.read { db in
            try await db.raw(listQuery).all().map { row in
                WorkflowSummary(
                    workflow: try Self.workflow(row), creatorEmail: try row.decode(column: "creator_email", as: String?.self),
                    creatorIsMember: try row.decode(column: "creator_is_member", as: Bool.self))
            }
        }
    }

    /// Deletes a workflow, with its audit entry. A user may delete the workflows they created and
    /// those that use a connector they own; the operator (`actor` nil, the `admin` CLI) any.
    /// - Returns: false when there is no such workflow or `actor` may not delete it.
    public func deleteWorkflow(id: UUID, organization: String, by actor: Int64?) async throws -> Bool {
        var delete: SQLQueryString = "DELETE FROM workflows WHERE id = \(bind: Self.key(id)) AND organization_id = \(bind: organization)"
        if let actor { delete += " AND " + Self.workflowIsKnown(to: actor) }
        delete += " RETURNING name"
        let statement = delete
        return try await database.write { db in
            guard let name = try await db.raw(statement).first(decodingColumn: "name", as: String.self) else { return false }
            try await self.recordAudit(
                organization: organization, actor: actor, action: .deleteWorkflow, connector: nil, outcome: "ok",
                detail: "workflow \(Self.key(id)) '\(name)'", db: db)
            return true
        }
    }

    /// SQL true when `user` created the row of `workflows` or owns a connector it uses: the
    /// workflows a user may know of (listed in a 409) and delete.
    static func workflowIsKnown(to user: Int64) -> SQLQueryString {
        """
        (workflows.created_by = \(bind: user) OR EXISTS (SELECT 1 FROM connectors o \
        WHERE o.id IN (workflows.source_connector_id, workflows.destination_connector_id) AND o.created_by = \(bind: user)))
        """
    }

    /// SQL true when the user in `userColumn` is a member of the organization in `organizationColumn`.
    static func isMember(_ userColumn: String, of organizationColumn: String) -> String {
        "EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = \(userColumn) AND m.organization_id = \(organizationColumn))"
    }

    static func workflow(_ row: any SQLRow) throws -> Workflow {
        Workflow(
            id: try uuid(try row.decode(column: "id", as: String.self)),
            organizationID: try row.decode(column: "organization_id", as: String.self),
            name: try row.decode(column: "name", as: String.self),
            sourceConnectorID: try row.decode(column: "source_connector_id", as: String?.self).map(uuid),
            destinationConnectorID: try row.decode(column: "destination_connector_id", as: String?.self).map(uuid),
            createdBy: try row.decode(column: "created_by", as: Int64?.self),
            createdAt: Timestamp.date(try row.decode(column: "created_at", as: Int64.self)))
    }

    // MARK: Key rotation

    /// Re-seals every connector not yet under the primary key, one row per transaction, so an
    /// interrupted run leaves each row either old or new and a re-run finishes the rest.
    /// - Parameter progress: called after each row with (done, total).
    /// - Returns: the number of rows re-sealed.
    @discardableResult
    public func rotateKeys(progress: @Sendable (Int, Int) -> Void = { _, _ in }) async throws -> Int {
        let primary = keyRing.primary.id
        let pending = try await database.read { db in
            try await db.select().columns("id", "organization_id").from("connectors").where("key_id", .notEqual, primary)
                .orderBy("id").all().map { (try $0.decode(column: "id", as: String.self), try $0.decode(column: "organization_id", as: String.self)) }
        }
        var done = 0
        for (id, organization) in pending {
            let context = Self.sealingContext(organization: organization, connector: id)
            try await database.write { db in
                // Re-read under the write transaction, locked: a concurrent update may have re-sealed
                // it already, and none may commit between this read and the write below.
                guard let row = try await db.raw("SELECT metadata, key_id FROM connectors WHERE id = \(bind: id)\(unsafeRaw: self.rowLock)").first(),
                    try row.decode(column: "key_id", as: String.self) != primary
                else { return }
                let plaintext = try self.keyRing.open(try row.decode(column: "metadata", as: Data.self), context: context)
                try await db.update("connectors").set("metadata", to: try self.keyRing.seal(plaintext, context: context))
                    .set("key_id", to: primary).where("id", .equal, id).run()
            }
            done += 1
            progress(done, pending.count)
        }
        return done
    }

    /// How many connectors are sealed under each key id.
    public func keyUsage() async throws -> [String: Int] {
        try await database.read { db in
            var usage: [String: Int] = [:]
            for row in try await db.raw("SELECT key_id, COUNT(*) AS n FROM connectors GROUP BY key_id").all() {
                usage[try row.decode(column: "key_id", as: String.self)] = try row.decode(column: "n", as: Int.self)
            }
            return usage
        }
    }
}
