import ConnectorCore
import Encryption
import Foundation
import SQLKit

extension ConnectorStore {
    /// The columns of a connector row plus its shared users as one comma-separated text column,
    /// so a connector (or a page of them) is one query.
    private var connectorColumns: String {
        let userText = database.backend == .postgres ? "user_id::text" : "user_id"
        let aggregate = database.backend == .postgres ? "string_agg" : "group_concat"
        return """
            c.id, c.organization_id, c.connector_name, c.connector_type, c.connector_mode, c.metadata, c.created_by, \
            c.modified_by, c.shared_to_org, c.created_at, c.modified_at, c.version, \
            (SELECT \(aggregate)(\(userText), ',') FROM connector_shares s WHERE s.connector_id = c.id) AS shares, \
            h.checked_at AS health_checked_at, h.code AS health_code, h.stage AS health_stage
            """
    }

    /// The connectors table `c` with each connector's last health `h`.
    private static let connectorsWithHealth = "connectors c LEFT JOIN connector_health h ON h.connector_id = c.id"

    // MARK: Reading

    /// One connector of the organization, whoever may see it (the caller checks permissions).
    public func connector(id: UUID, organization: String) async throws -> StoredConnector? {
        let key = ConnectorKey(organization: organization, id: id)
        let (cached, generation) = connectorCache.lookup(key)
        if let cached { return cached }
        let found = try await database.read { db in try await self.connector(id: id, organization: organization, db: db, lock: false) }
        if let found { connectorCache.remember(found, for: key, generation: generation) }
        return found
    }

    func connector(id: UUID, organization: String, db: any SQLDatabase, lock: Bool) async throws -> StoredConnector? {
        guard
            let row = try await db.raw(
                "SELECT \(unsafeRaw: connectorColumns) FROM \(unsafeRaw: Self.connectorsWithHealth) WHERE c.id = \(bind: Self.key(id)) AND c.organization_id = \(bind: organization)\(unsafeRaw: lock ? rowLock(of: "c") : "")"
            ).first()
        else { return nil }
        return try decodeConnector(row)
    }

    /// The connectors `userID` may see (owner, shared user, or shared to the organization),
    /// filtered, ordered (ties broken by id) and optionally paged.
    public func connectors(organization: String, visibleTo userID: Int64, query: ConnectorQuery) async throws -> ConnectorPage {
        var filter: SQLQueryString = "WHERE c.organization_id = \(bind: organization) AND \(Self.connectorIsVisible("c", to: userID))"
        if let typeIDs = query.typeIDs {
            if typeIDs.isEmpty {
                filter += " AND 1 = 0"
            } else {
                filter += " AND c.connector_type IN (\(binds: typeIDs))"
            }
        }
        if let name = query.name { filter += " AND c.connector_name = \(bind: name)" }
        if let createdBy = query.createdBy { filter += " AND c.created_by = \(bind: createdBy)" }
        if let search = query.search, !search.isEmpty {
            let pattern = "%" + Self.escapeLike(search.lowercased()) + "%"
            filter += """
                 AND (LOWER(c.connector_name) LIKE \(bind: pattern) ESCAPE '\\'
                OR c.created_by IN (SELECT u.id FROM users u WHERE LOWER(u.email) LIKE \(bind: pattern) ESCAPE '\\'
                OR LOWER(u.name) LIKE \(bind: pattern) ESCAPE '\\'))
                """
        }
        guard case .field(let field, let descending) = query.ordering, ConnectorOrdering.allowedFields.contains(field) else {
            throw StoreError("unsupported ordering")
        }
        var select: SQLQueryString = "SELECT \(unsafeRaw: connectorColumns) FROM \(unsafeRaw: Self.connectorsWithHealth) "
        select += filter
        select += " ORDER BY c.\(unsafeRaw: field) \(unsafeRaw: descending ? "DESC" : "ASC"), c.id ASC"
        if let page = query.page {
            select += " LIMIT \(literal: page.size) OFFSET \(literal: (page.number - 1) * page.size)"
        }
        let countQuery: SQLQueryString = "SELECT COUNT(*) AS n FROM connectors c " + filter
        let listQuery = select
        let paged = query.page != nil
        return try await database.read { db in
            let connectors = try await db.raw(listQuery).all().map(self.decodeConnector)
            let count = paged ? try await db.raw(countQuery).first()?.decode(column: "n", as: Int.self) ?? 0 : connectors.count
            return ConnectorPage(count: count, connectors: connectors)
        }
    }

    /// Every connector of the organization, whoever owns it, by name (operator use: the CLI's
    /// health check).
    public func connectors(organization: String) async throws -> [StoredConnector] {
        try await database.read { db in
            try await db.raw(
                """
                SELECT \(unsafeRaw: self.connectorColumns) FROM \(unsafeRaw: Self.connectorsWithHealth) \
                WHERE c.organization_id = \(bind: organization) ORDER BY c.connector_name, c.id
                """
            ).all().map(self.decodeConnector)
        }
    }

    /// The connectors with these ids (store keys), whatever their organization.
    func connectors(ids: [String]) async throws -> [StoredConnector] {
        try await database.read { db in
            try await db.raw(
                "SELECT \(unsafeRaw: self.connectorColumns) FROM \(unsafeRaw: Self.connectorsWithHealth) WHERE c.id IN (\(binds: ids))"
            ).all().map(self.decodeConnector)
        }
    }

    /// SQL true when `userID` may see the connector row `alias` (IsOwnerOrSharedUserOrSharedToOrg,
    /// for a user already known to be in its organization).
    static func connectorIsVisible(_ alias: String, to userID: Int64) -> SQLQueryString {
        """
        (\(unsafeRaw: alias).created_by = \(bind: userID) OR \(unsafeRaw: alias).shared_to_org = \(true) \
        OR EXISTS (SELECT 1 FROM connector_shares s WHERE s.connector_id = \(unsafeRaw: alias).id AND s.user_id = \(bind: userID)))
        """
    }

    /// Every connector of the organization with its owner, for the operator: no metadata is opened.
    public func connectorOwnership(organization: String) async throws -> [ConnectorOwnership] {
        try await database.read { db in
            try await db.raw(
                """
                SELECT c.id, c.connector_name, c.connector_type, c.created_by, u.email, \
                \(unsafeRaw: Self.isMember("c.created_by", of: "c.organization_id")) AS owner_is_member
                FROM connectors c LEFT JOIN users u ON u.id = c.created_by
                WHERE c.organization_id = \(bind: organization) ORDER BY c.connector_name
                """
            ).all().map {
                ConnectorOwnership(
                    id: try Self.uuid(try $0.decode(column: "id", as: String.self)),
                    name: try $0.decode(column: "connector_name", as: String.self),
                    typeID: try $0.decode(column: "connector_type", as: String.self),
                    ownerID: try $0.decode(column: "created_by", as: Int64?.self),
                    ownerEmail: try $0.decode(column: "email", as: String?.self),
                    ownerIsMember: try $0.decode(column: "owner_is_member", as: Bool.self))
            }
        }
    }

    private func decodeConnector(_ row: any SQLRow) throws -> StoredConnector {
        let id = try row.decode(column: "id", as: String.self)
        let shares = try (row.decode(column: "shares", as: String?.self) ?? "").split(separator: ",").map { text in
            guard let user = Int64(text) else { throw StoreError("malformed share in the store") }
            return user
        }.sorted()
        let organization = try row.decode(column: "organization_id", as: String.self)
        let sealed = try row.decode(column: "metadata", as: Data.self)
        let plaintext = try keyRing.open(sealed, context: Self.sealingContext(organization: organization, connector: id))
        return StoredConnector(
            id: try Self.uuid(id), organizationID: organization,
            name: try row.decode(column: "connector_name", as: String.self),
            typeID: try row.decode(column: "connector_type", as: String.self),
            mode: try row.decode(column: "connector_mode", as: String.self),
            metadata: try JSONValue.parse(plaintext),
            createdBy: try row.decode(column: "created_by", as: Int64?.self),
            modifiedBy: try row.decode(column: "modified_by", as: Int64?.self),
            sharedUsers: shares,
            sharedToOrg: try row.decode(column: "shared_to_org", as: Bool.self),
            createdAt: Timestamp.date(try row.decode(column: "created_at", as: Int64.self)),
            modifiedAt: Timestamp.date(try row.decode(column: "modified_at", as: Int64.self)),
            version: try row.decode(column: "version", as: Int64.self),
            lastHealth: try row.decode(column: "health_checked_at", as: Int64?.self).map { checkedAt in
                LastHealth(
                    checkedAt: Timestamp.date(checkedAt), code: try row.decode(column: "health_code", as: String.self),
                    stage: try row.decode(column: "health_stage", as: String?.self))
            })
    }

    // MARK: Writing

    /// Stores a new connector owned by `userID`, with its audit entry, in one transaction.
    /// - Throws: ``ConnectorStoreError/duplicateName(_:)`` (decided by the unique constraint, so
    ///   two concurrent creates with one name give one success), ``ConnectorStoreError/notAMember(_:)``.
    public func createConnector(_ new: NewConnector, organization: String, by userID: Int64) async throws -> StoredConnector {
        let id = UUID()
        let now = Timestamp.now()
        let sealed = try seal(new.metadata, organization: organization, connector: id)
        let shares = Array(Set(new.sharedUsers)).sorted()
        do {
            try await database.write { db in
                try await self.requireMembers(shares, organization: organization, db: db)
                try await db.insert(into: "connectors")
                    .columns(
                        "id", "organization_id", "connector_name", "connector_type", "connector_mode", "metadata", "key_id",
                        "created_by", "modified_by", "shared_to_org", "created_at", "modified_at"
                    )
                    .values(
                        SQLBind(Self.key(id)), SQLBind(organization), SQLBind(new.name), SQLBind(new.typeID), SQLBind(new.mode),
                        SQLBind(sealed), SQLBind(self.keyRing.primary.id), SQLBind(userID), SQLBind(userID),
                        SQLBind(new.sharedToOrg), SQLBind(now), SQLBind(now)
                    ).run()
                try await self.insertShares(shares, connector: id, db: db)
                try await self.recordAudit(
                    organization: organization, actor: userID, action: .create, connector: id, outcome: "ok", db: db)
                if !shares.isEmpty || new.sharedToOrg {
                    try await self.recordAudit(
                        organization: organization, actor: userID, action: .share, connector: id, outcome: "ok", db: db)
                }
                if !shares.isEmpty {
                    try await self.notifyShared(
                        users: shares, connector: id, name: new.name, organization: organization, by: userID, now: now, db: db)
                }
            }
        } catch  where ConstraintViolation.classify(error) == .unique {
            throw ConnectorStoreError.duplicateName(new.name)
        }
        return StoredConnector(
            id: id, organizationID: organization, name: new.name, typeID: new.typeID, mode: new.mode, metadata: new.metadata,
            createdBy: userID, modifiedBy: userID, sharedUsers: shares, sharedToOrg: new.sharedToOrg,
            createdAt: Timestamp.date(now), modifiedAt: Timestamp.date(now))
    }

    /// Applies `change` to a connector in one transaction: the row, its shares, a notification
    /// for each *newly* shared user (and its webhook outbox entry), and the audit entries.
    /// `merge` sees the stored row (decrypted, locked) and returns the metadata to store, so
    /// mask-means-keep and the rebind guard decide on the current value, not a stale read.
    /// - Returns: the updated connector and the users newly added to `shared_users`.
    public func updateConnector(
        id: UUID, organization: String, by userID: Int64, change: ConnectorChange,
        merge: @escaping @Sendable (StoredConnector) throws -> JSONValue?
    ) async throws -> (StoredConnector, newlyShared: [Int64]) {
        let now = Timestamp.now()
        let key = ConnectorKey(organization: organization, id: id)
        connectorCache.forget(key)
        defer { connectorCache.forget(key) }
        do {
            return try await database.write { db in
                guard var current = try await self.connector(id: id, organization: organization, db: db, lock: true) else {
                    throw ConnectorStoreError.notFound
                }
                let metadata = try merge(current)
                var update = db.update("connectors").set("modified_by", to: userID).set("modified_at", to: now)
                    .set(SQLIdentifier("version"), to: SQLRaw("version + 1"))
                if let name = change.name { update = update.set("connector_name", to: name) }
                if let metadata {
                    update = update.set("metadata", to: try self.seal(metadata, organization: organization, connector: id))
                        .set("key_id", to: self.keyRing.primary.id)
                }
                // New credentials have not been checked: the last health (not the history) goes.
                let credentialsChanged = metadata.map { $0 != current.metadata } ?? false
                if credentialsChanged {
                    try await db.delete(from: "connector_health").where("connector_id", .equal, Self.key(id)).run()
                }
                if let sharedToOrg = change.sharedToOrg { update = update.set("shared_to_org", to: sharedToOrg) }
                try await update.where("id", .equal, Self.key(id)).where("organization_id", .equal, organization).run()

                var added: [Int64] = []
                if let requested = change.sharedUsers {
                    let wanted = Array(Set(requested)).sorted()
                    try await self.requireMembers(wanted, organization: organization, db: db)
                    added = wanted.filter { !current.sharedUsers.contains($0) }
                    try await db.delete(from: "connector_shares").where("connector_id", .equal, Self.key(id)).run()
                    try await self.insertShares(wanted, connector: id, db: db)
                    current.sharedUsers = wanted
                }
                let name = change.name ?? current.name
                if !added.isEmpty {
                    try await self.notifyShared(
                        users: added, connector: id, name: name, organization: organization, by: userID, now: now, db: db)
                }
                try await self.recordAudit(
                    organization: organization, actor: userID, action: .update, connector: id, outcome: "ok", db: db)
                if change.sharedUsers != nil || change.sharedToOrg != nil {
                    try await self.recordAudit(
                        organization: organization, actor: userID, action: .share, connector: id, outcome: "ok", db: db)
                }
                current.name = name
                if let metadata { current.metadata = metadata }
                if credentialsChanged { current.lastHealth = nil }
                if let sharedToOrg = change.sharedToOrg { current.sharedToOrg = sharedToOrg }
                current.modifiedBy = userID
                current.modifiedAt = Timestamp.date(now)
                current.version += 1
                return (current, added)
            }
        } catch  where ConstraintViolation.classify(error) == .unique {
            throw ConnectorStoreError.duplicateName(change.name ?? "")
        }
    }

    /// Writes OAuth tokens a probe refreshed into a connector's metadata, sealed, unless the row
    /// changed since it was read at `expectedVersion` (another replica refreshed first, or the
    /// owner re-authorized): compare-and-swap, so no token set is written over a newer one.
    /// Not a change by a user: `modified_by` and `modified_at` stay.
    /// - Returns: whether the tokens were written.
    public func storeRefreshedTokens(
        _ tokens: OAuthTokenSet, connector id: UUID, organization: String, expectedVersion: Int64
    ) async throws -> Bool {
        let key = ConnectorKey(organization: organization, id: id)
        connectorCache.forget(key)
        defer { connectorCache.forget(key) }
        return try await database.write { db in
            guard let current = try await self.connector(id: id, organization: organization, db: db, lock: true),
                current.version == expectedVersion
            else { return false }
            let sealed = try self.seal(tokens.merged(into: current.metadata), organization: organization, connector: id)
            try await db.update("connectors").set("metadata", to: sealed).set("key_id", to: self.keyRing.primary.id)
                .set(SQLIdentifier("version"), to: SQLRaw("version + 1"))
                .where("id", .equal, Self.key(id)).where("organization_id", .equal, organization).where("version", .equal, expectedVersion)
                .run()
            try await self.recordAudit(
                organization: organization, actor: nil, action: .refresh, connector: id, outcome: "ok", db: db)
            return true
        }
    }

    /// Deletes a connector. The workflows' foreign keys (NO ACTION: checked at the statement) decide whether it is in use.
    /// - Parameter userID: the owner, or nil for the operator (`admin` CLI).
    public func deleteConnector(id: UUID, organization: String, by userID: Int64?) async throws {
        let key = ConnectorKey(organization: organization, id: id)
        defer { connectorCache.forget(key) }
        do {
            try await database.write { db in
                let deleted = try await db.delete(from: "connectors").where("id", .equal, Self.key(id))
                    .where("organization_id", .equal, organization).returning("connector_name").all()
                guard !deleted.isEmpty else { throw ConnectorStoreError.notFound }
                try await self.recordAudit(
                    organization: organization, actor: userID, action: .delete, connector: id, outcome: "ok", db: db)
            }
        } catch  where ConstraintViolation.classify(error) == .foreignKey {
            let name = try await connector(id: id, organization: organization)?.name ?? ""
            throw ConnectorStoreError.inUse(name: name)
        }
    }

    /// Gives a connector to another member of its organization (the operator's remedy for a
    /// connector whose owner left), with its audit entry. Name and organization stay as they are.
    /// - Throws: ``ConnectorStoreError/notFound``, ``ConnectorStoreError/notAMember(_:)``.
    public func transferConnector(id: UUID, organization: String, to newOwner: Int64) async throws {
        let key = ConnectorKey(organization: organization, id: id)
        defer { connectorCache.forget(key) }
        try await database.write { db in
            guard let current = try await self.connector(id: id, organization: organization, db: db, lock: true) else {
                throw ConnectorStoreError.notFound
            }
            try await self.requireMembers([newOwner], organization: organization, db: db)
            try await db.update("connectors").set("created_by", to: newOwner).set("modified_at", to: Timestamp.now())
                .where("id", .equal, Self.key(id)).where("organization_id", .equal, organization).run()
            try await self.recordAudit(
                organization: organization, actor: nil, action: .transfer, connector: id, outcome: "ok",
                detail: "owner \(current.createdBy.map(String.init) ?? "none") -> \(newOwner)", db: db)
        }
    }

    // MARK: Helpers

    /// Appended to a SELECT inside ``StoreDatabase/write(_:)`` to lock the rows it reads until the
    /// commit: `FOR UPDATE` on PostgreSQL; SQLite needs none, as `BEGIN IMMEDIATE` already
    /// makes the transaction the only writer before it reads.
    var rowLock: String { database.backend == .postgres ? " FOR UPDATE" : "" }

    /// ``rowLock`` for a SELECT that joins other tables: locks only the rows of `alias`.
    func rowLock(of alias: String) -> String { database.backend == .postgres ? " FOR UPDATE OF \(alias)" : "" }

    func seal(_ metadata: JSONValue, organization: String, connector: UUID) throws -> Data {
        return try keyRing.seal(
            Data(metadata.serialized()), context: Self.sealingContext(organization: organization, connector: Self.key(connector)))
    }

    private func requireMembers(_ users: [Int64], organization: String, db: any SQLDatabase) async throws {
        guard !users.isEmpty else { return }
        let members = Set(
            try await db.select().column("user_id").from("memberships").where("organization_id", .equal, organization)
                .where("user_id", .in, users).all(decodingColumn: "user_id", as: Int64.self))
        if let stranger = users.first(where: { !members.contains($0) }) { throw ConnectorStoreError.notAMember(stranger) }
    }

    private func insertShares(_ users: [Int64], connector: UUID, db: any SQLDatabase) async throws {
        guard !users.isEmpty else { return }
        var insert = db.insert(into: "connector_shares").columns("connector_id", "user_id")
        for user in users { insert = insert.values(SQLBind(Self.key(connector)), SQLBind(user)) }
        try await insert.run()
    }

    /// Stored form of a UUID: lowercase text on both backends.
    static func key(_ id: UUID) -> String { id.uuidString.lowercased() }

    static func uuid(_ text: String) throws -> UUID {
        guard let id = UUID(uuidString: text) else { throw StoreError("malformed id in the store") }
        return id
    }

    static func escapeLike(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
            .replacingOccurrences(of: "_", with: "\\_")
    }
}
