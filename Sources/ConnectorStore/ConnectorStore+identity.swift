import ConnectorCore
import Crypto
import Foundation
import SQLKit

/// Why an identity change was refused; phrased for the `admin` CLI.
public struct IdentityError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

extension ConnectorStore {
    /// Organization ids appear in URLs: 1–64 of `[a-z0-9_-]`, starting with a letter or digit.
    public static func isValidOrganizationID(_ id: String) -> Bool {
        guard let first = id.unicodeScalars.first, id.count <= 64 else { return false }
        let allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyz0123456789_-")
        return CharacterSet.alphanumerics.contains(first) && id.unicodeScalars.allSatisfy { allowed.contains($0) }
    }

    // MARK: Organizations

    public func createOrganization(id: String, name: String) async throws -> Organization {
        guard Self.isValidOrganizationID(id) else {
            throw IdentityError("organization id must be 1-64 characters of a-z, 0-9, '_' or '-', starting with a letter or digit")
        }
        let now = Timestamp.now()
        do {
            try await database.write { db in
                try await db.insert(into: "organizations").columns("id", "name", "created_at")
                    .values(SQLBind(id), SQLBind(name), SQLBind(now)).run()
            }
        } catch  where ConstraintViolation.classify(error) == .unique {
            throw IdentityError("organization '\(id)' already exists")
        }
        return Organization(id: id, name: name, createdAt: Timestamp.date(now))
    }

    public func organizations() async throws -> [Organization] {
        try await database.read { db in
            try await db.select().columns("id", "name", "created_at").from("organizations").orderBy("id").all().map {
                Organization(
                    id: try $0.decode(column: "id", as: String.self), name: try $0.decode(column: "name", as: String.self),
                    createdAt: Timestamp.date(try $0.decode(column: "created_at", as: Int64.self)))
            }
        }
    }

    public func isEmpty() async throws -> Bool {
        try await database.read { db in try await db.select().column("id").from("users").limit(1).first() == nil }
    }

    // MARK: Users

    public func createUser(email: String, name: String) async throws -> User {
        let email = email.trimmingCharacters(in: .whitespaces).lowercased()
        guard email.contains("@"), email.count <= 254, !email.contains(where: \.isWhitespace) else {
            throw IdentityError("email must look like name@domain")
        }
        let now = Timestamp.now()
        do {
            let id = try await database.write { db in
                try await db.insert(into: "users").columns("email", "name", "created_at")
                    .values(SQLBind(email), SQLBind(name), SQLBind(now)).returning("id").first(decodingColumn: "id", as: Int64.self)
            }
            guard let id else { throw StoreError("the database did not return the new user's id") }
            return User(id: id, email: email, name: name, createdAt: Timestamp.date(now))
        } catch  where ConstraintViolation.classify(error) == .unique {
            throw IdentityError("a user with email \(email) already exists")
        }
    }

    public func users() async throws -> [User] {
        try await database.read { db in
            try await db.select().columns("id", "email", "name", "created_at").from("users").orderBy("id").all().map(Self.user)
        }
    }

    public func user(email: String) async throws -> User? {
        try await database.read { db in
            try await db.select().columns("id", "email", "name", "created_at").from("users")
                .where("email", .equal, email.lowercased()).first().map(Self.user)
        }
    }

    static func user(_ row: any SQLRow) throws -> User {
        User(
            id: try row.decode(column: "id", as: Int64.self), email: try row.decode(column: "email", as: String.self),
            name: try row.decode(column: "name", as: String.self),
            createdAt: Timestamp.date(try row.decode(column: "created_at", as: Int64.self)))
    }

    // MARK: Memberships

    /// Adds the user to the organization, or changes the role of an existing member.
    public func setMembership(organization: String, userID: Int64, role: MembershipRole) async throws {
        defer { forgetCachedReads() }
        let now = Timestamp.now()
        do {
            try await database.write { db in
                try await db.insert(into: "memberships").columns("organization_id", "user_id", "role", "created_at")
                    .values(SQLBind(organization), SQLBind(userID), SQLBind(role.rawValue), SQLBind(now))
                    .onConflict(with: ["organization_id", "user_id"]) { $0.set("role", to: role.rawValue) }
                    .run()
            }
        } catch  where ConstraintViolation.classify(error) == .foreignKey {
            throw IdentityError("no such organization or user")
        }
    }

    /// Removes a membership; the user's shares in that organization go with it.
    public func removeMembership(organization: String, userID: Int64) async throws -> Bool {
        defer { forgetCachedReads() }
        return try await database.write { db in
            try await db.raw(
                """
                DELETE FROM connector_shares WHERE user_id = \(bind: userID)
                AND connector_id IN (SELECT id FROM connectors WHERE organization_id = \(bind: organization))
                """
            ).run()
            let removed = try await db.delete(from: "memberships").where("organization_id", .equal, organization)
                .where("user_id", .equal, userID).returning("user_id").all()
            return !removed.isEmpty
        }
    }

    public func memberships(organization: String) async throws -> [Membership] {
        try await database.read { db in
            try await db.raw(
                """
                SELECT m.organization_id, m.user_id, u.email, m.role, m.created_at FROM memberships m
                JOIN users u ON u.id = m.user_id WHERE m.organization_id = \(bind: organization) ORDER BY m.user_id
                """
            ).all().map {
                Membership(
                    organizationID: try $0.decode(column: "organization_id", as: String.self),
                    userID: try $0.decode(column: "user_id", as: Int64.self), email: try $0.decode(column: "email", as: String.self),
                    role: MembershipRole(rawValue: try $0.decode(column: "role", as: String.self)) ?? .member,
                    createdAt: Timestamp.date(try $0.decode(column: "created_at", as: Int64.self)))
            }
        }
    }

    // MARK: Tokens

    /// Creates a token for the user. The secret is returned once; only its SHA-256 is stored
    /// (the secret is 256 random bits, so a fast hash is not guessable).
    public func issueToken(userID: Int64, name: String) async throws -> IssuedToken {
        var bytes = [UInt8](repeating: 0, count: 32)
        var generator = SystemRandomNumberGenerator()
        for index in bytes.indices { bytes[index] = generator.next() }
        let secret = "ce_" + Base64URL.encode(bytes)
        let id = UUID().uuidString.lowercased()
        let now = Timestamp.now()
        do {
            try await database.write { db in
                try await db.insert(into: "api_tokens").columns("id", "user_id", "name", "token_hash", "created_at")
                    .values(SQLBind(id), SQLBind(userID), SQLBind(name), SQLBind(Self.tokenHash(secret)), SQLBind(now)).run()
            }
        } catch  where ConstraintViolation.classify(error) == .foreignKey {
            throw IdentityError("no user with id \(userID)")
        }
        let record = APITokenRecord(id: id, userID: userID, name: name, createdAt: Timestamp.date(now), revokedAt: nil)
        return IssuedToken(record: record, secret: secret)
    }

    public func tokens(userID: Int64? = nil) async throws -> [APITokenRecord] {
        try await database.read { db in
            var query = db.select().columns("id", "user_id", "name", "created_at", "revoked_at").from("api_tokens")
            if let userID { query = query.where("user_id", .equal, userID) }
            return try await query.orderBy("created_at").all().map {
                APITokenRecord(
                    id: try $0.decode(column: "id", as: String.self), userID: try $0.decode(column: "user_id", as: Int64.self),
                    name: try $0.decode(column: "name", as: String.self),
                    createdAt: Timestamp.date(try $0.decode(column: "created_at", as: Int64.self)),
                    revokedAt: try $0.decode(column: "revoked_at", as: Int64?.self).map(Timestamp.date))
            }
        }
    }

    /// Revokes a token by id; true when a live token was revoked.
    public func revokeToken(id: String) async throws -> Bool {
        let now = Timestamp.now()
        defer { forgetCachedReads() }
        return try await database.write { db in
            try await !db.update("api_tokens").set("revoked_at", to: now).where("id", .equal, id).where("revoked_at", .is, SQLLiteral.null)
                .returning("id").all().isEmpty
        }
    }

    /// Resolves a bearer token for one organization in a single query.
    /// - Parameter lastKnownDuringOutage: while the store cannot be reached, answer with what it
    ///   last said of this token (within ``outageTokenGrace``) instead of failing; for requests
    ///   that need nothing else from the store (testing unsaved credentials). A token the store
    ///   has since called unknown or revoked has no last answer.
    public func authenticate(token: String, organization: String, lastKnownDuringOutage: Bool = false) async throws -> Authentication {
        let hash = Self.tokenHash(token)
        let key = TokenKey(tokenHash: hash, organization: organization)
        let (known, generation) = authentications.lookup(key)
        if let known { return known }
        let lastKnownGeneration = lastKnownAuthentications.lookup(key).generation
        let row: (any SQLRow)?
        do {
            row = try await database.read { db in
                try await db.raw(
                    """
                    SELECT t.user_id, m.role FROM api_tokens t
                    LEFT JOIN memberships m ON m.user_id = t.user_id AND m.organization_id = \(bind: organization)
                    WHERE t.token_hash = \(bind: hash) AND t.revoked_at IS NULL
                    """
                ).first()
            }
        } catch let error as StoreUnavailable {
            // The store is down: the database's last answer for this token, if it is recent.
            guard lastKnownDuringOutage, let lastKnown = lastKnownAuthentications.lookup(key).value else { throw error }
            return lastKnown
        }
        guard let row else {
            lastKnownAuthentications.forget(key)
            return .invalidToken
        }
        let answer: Authentication
        if let role = try row.decode(column: "role", as: String?.self).flatMap(MembershipRole.init(rawValue:)) {
            answer = .caller(Caller(userID: try row.decode(column: "user_id", as: Int64.self), organizationID: organization, role: role))
        } else {
            answer = .notMember
        }
        authentications.remember(answer, for: key, generation: generation)
        lastKnownAuthentications.remember(answer, for: key, generation: lastKnownGeneration)
        return answer
    }

    /// The user of a valid bearer token and the organizations it is a member of (sorted); `nil`
    /// for an unknown or revoked token. For routes outside an organization's prefix.
    public func tokenUser(token: String) async throws -> (userID: Int64, organizations: [String])? {
        let hash = Self.tokenHash(token)
        let rows = try await database.read { db in
            try await db.raw(
                """
                SELECT t.user_id, m.organization_id FROM api_tokens t
                LEFT JOIN memberships m ON m.user_id = t.user_id
                WHERE t.token_hash = \(bind: hash) AND t.revoked_at IS NULL
                """
            ).all()
        }
        guard let first = rows.first else { return nil }
        let organizations = try rows.compactMap { try $0.decode(column: "organization_id", as: String?.self) }.sorted()
        return (try first.decode(column: "user_id", as: Int64.self), organizations)
    }

    static func tokenHash(_ token: String) -> Data { Data(SHA256.hash(data: Data(token.utf8))) }

    /// First start on an empty store: one organization, one admin user in it, one token.
    public func bootstrap(organization: String, email: String) async throws -> (Organization, User, IssuedToken) {
        let org = try await createOrganization(id: organization, name: organization)
        let user = try await createUser(email: email, name: "Administrator")
        try await setMembership(organization: org.id, userID: user.id, role: .admin)
        let token = try await issueToken(userID: user.id, name: "bootstrap")
        return (org, user, token)
    }
}
