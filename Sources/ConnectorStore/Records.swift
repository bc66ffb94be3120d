import ConnectorCore
import Foundation

/// An organization: the tenant named by `{org_id}` in URLs.
public struct Organization: Sendable, Equatable, Codable {
    public let id: String
    public let name: String
    public let createdAt: Date
}

/// A person or service that calls the API with a token.
public struct User: Sendable, Equatable, Codable {
    public let id: Int64
    public let email: String
    public let name: String
    public let createdAt: Date
}

/// What a member may do in an organization beyond the per-connector rules. Admins manage
/// members and tokens through the CLI; connector permissions are the same for both roles.
public enum MembershipRole: String, Sendable, Codable, CaseIterable {
    case admin
    case member
}

public struct Membership: Sendable, Equatable, Codable {
    public let organizationID: String
    public let userID: Int64
    public let email: String
    public let role: MembershipRole
    public let createdAt: Date
}

/// An API token as stored: only its hash, never the token.
public struct APITokenRecord: Sendable, Equatable, Codable {
    public let id: String
    public let userID: Int64
    public let name: String
    public let createdAt: Date
    public let revokedAt: Date?
}

/// A token just created; `secret` exists only in this value and is shown once.
public struct IssuedToken: Sendable {
    public let record: APITokenRecord
    public let secret: String
}

/// The authenticated caller of a tenant route.
public struct Caller: Sendable, Equatable {
    public let userID: Int64
    public let organizationID: String
    public let role: MembershipRole

    public init(userID: Int64, organizationID: String, role: MembershipRole) {
        self.userID = userID
        self.organizationID = organizationID
        self.role = role
    }
}

/// What a bearer token proves for one organization.
public enum Authentication: Sendable, Equatable {
    /// Unknown or revoked token: 401.
    case invalidToken
    /// A valid token whose user is not in the organization: 404 (org ids do not leak).
    case notMember
    case caller(Caller)
}

/// A stored connector with its metadata decrypted (secrets in clear: mask before responding).
public struct StoredConnector: Sendable, Equatable {
    public let id: UUID
    public let organizationID: String
    public var name: String
    /// The catalog id, e.g. `postgresql|6db35f45-…`.
    public let typeID: String
    public let mode: String
    public var metadata: JSONValue
    public let createdBy: Int64?
    public var modifiedBy: Int64?
    public var sharedUsers: [Int64]
    public var sharedToOrg: Bool
    public let createdAt: Date
    public var modifiedAt: Date
    /// Bumped by every write of the row: a write that must not overwrite a newer one (refreshed
    /// OAuth tokens) compares it.
    public var version: Int64 = 0
    /// The newest recorded check of the connector, if any.
    public var lastHealth: LastHealth? = nil

    /// IsOwner: the caller created the connector.
    public func isOwned(by userID: Int64) -> Bool { createdBy == userID }

    /// IsOwnerOrSharedUserOrSharedToOrg, for a caller already known to be in the organization.
    public func isVisible(to userID: Int64) -> Bool {
        isOwned(by: userID) || sharedToOrg || sharedUsers.contains(userID)
    }
}

/// A new connector to store.
public struct NewConnector: Sendable {
    public var name: String
    public var typeID: String
    public var mode: String
    public var metadata: JSONValue
    public var sharedUsers: [Int64]
    public var sharedToOrg: Bool

    public init(name: String, typeID: String, mode: String, metadata: JSONValue, sharedUsers: [Int64] = [], sharedToOrg: Bool = false) {
        self.name = name
        self.typeID = typeID
        self.mode = mode
        self.metadata = metadata
        self.sharedUsers = sharedUsers
        self.sharedToOrg = sharedToOrg
    }
}

/// The fields an update replaces; nil leaves a field as stored. (New metadata comes from the
/// `merge` closure of ``ConnectorStore/updateConnector(id:organization:by:change:merge:)``, which
/// sees the locked row.)
public struct ConnectorChange: Sendable {
    public var name: String?
    public var sharedUsers: [Int64]?
    public var sharedToOrg: Bool?

    public init(name: String? = nil, sharedUsers: [Int64]? = nil, sharedToOrg: Bool? = nil) {
        self.name = name
        self.sharedUsers = sharedUsers
        self.sharedToOrg = sharedToOrg
    }
}

/// Sort keys of `GET connector/?ordering=` (prefix `-` for descending).
public enum ConnectorOrdering: Sendable, Equatable {
    case field(String, descending: Bool)

    public static let allowedFields = ["connector_name", "created_at", "modified_at"]
    /// Unstract's default: newest modification first.
    public static let `default` = ConnectorOrdering.field("modified_at", descending: true)

    /// Parses `name`, `-name`; nil for an unknown field.
    public init?(_ text: String) {
        let descending = text.hasPrefix("-")
        let field = descending ? String(text.dropFirst()) : text
        guard Self.allowedFields.contains(field) else { return nil }
        self = .field(field, descending: descending)
    }
}

/// Filters of `GET connector/`.
public struct ConnectorQuery: Sendable {
    public var typeIDs: [String]?
    public var name: String?
    public var createdBy: Int64?
    public var search: String?
    public var ordering: ConnectorOrdering = .default
    /// 1-based page and its size; nil returns every row.
    public var page: (number: Int, size: Int)?

    public init() {}
}

/// One page of connectors and the number of rows matching the filters.
public struct ConnectorPage: Sendable {
    public let count: Int
    public let connectors: [StoredConnector]
}

/// A minimal workflow: just enough to make "in use" real.
public struct Workflow: Sendable, Equatable {
    public let id: UUID
    public let organizationID: String
    public let name: String
    public let sourceConnectorID: UUID?
    public let destinationConnectorID: UUID?
    public let createdBy: Int64?
    public let createdAt: Date
}

/// A workflow as listed: with its creator's email, and whether the creator is still a member.
public struct WorkflowSummary: Sendable, Equatable {
    public let workflow: Workflow
    public let creatorEmail: String?
    public let creatorIsMember: Bool
}

/// Which workflows ``ConnectorStore/workflows(organization:matching:)`` lists, and how.
public struct WorkflowQuery: Sendable {
    public var id: UUID?
    /// Only the workflows that use this connector.
    public var usingConnector: UUID?
    /// Only the workflows this user may know of: they created it, or it uses a connector they own.
    public var knownTo: Int64?
    /// Connector ids this user may not see are listed as nil.
    public var connectorsVisibleTo: Int64?

    public init(id: UUID? = nil, usingConnector: UUID? = nil, knownTo: Int64? = nil, connectorsVisibleTo: Int64? = nil) {
        self.id = id
        self.usingConnector = usingConnector
        self.knownTo = knownTo
        self.connectorsVisibleTo = connectorsVisibleTo
    }
}

/// A connector as the operator lists it: no metadata, the owner's email and membership.
public struct ConnectorOwnership: Sendable, Equatable {
    public let id: UUID
    public let name: String
    public let typeID: String
    public let ownerID: Int64?
    public let ownerEmail: String?
    public let ownerIsMember: Bool
}

/// A notice to one user that a resource was shared with them.
public struct ShareNotification: Sendable, Equatable {
    public let id: UUID
    public let organizationID: String
    public let userID: Int64
    public let kind: String
    public let resourceType: String
    public let resourceID: String
    public let resourceName: String
    public let sharedBy: Int64?
    public let createdAt: Date
}

/// One line of the audit log. Holds no secret by construction: there is no field for one.
public struct AuditEntry: Sendable, Equatable {
    public let id: Int64
    public let organizationID: String
    public let actorUserID: Int64?
    public let action: AuditAction
    public let connectorID: String?
    public let outcome: String
    public let at: Date
    /// What else identifies the action: the workflow deleted, the owners of a transfer.
    public let detail: String?
}

/// What an audit entry records. An entry without an actor is the operator's (`admin` CLI), or a
/// request refused before its caller was known (``denied`` with 401).
public enum AuditAction: String, Sendable, Codable, CaseIterable {
    case create, update, delete, share, test
    /// A connector given to another member of its organization.
    case transfer
    case deleteWorkflow = "delete_workflow"
    /// A request refused with 401, 403 or 404 on a connector route (the status is the outcome).
    case denied
    /// OAuth tokens a test refreshed, written back (no actor: the engine did it).
    case refresh
}

/// Why a connector write was refused.
public enum ConnectorStoreError: Error, Sendable, Equatable {
    /// `connector_name` already used in the organization (409).
    case duplicateName(String)
    /// A workflow still references the connector (409).
    case inUse(name: String)
    /// The row vanished between read and write (404).
    case notFound
    /// A user id in `shared_users` is not a member of the organization (400).
    case notAMember(Int64)
}

/// The newest check of a connector, as the connector object shows it (`last_health`).
public struct LastHealth: Sendable, Hashable {
    public let checkedAt: Date
    /// An ``OutcomeCode`` raw value.
    public let code: String
    public let stage: String?

    public var isValid: Bool { code == OutcomeCode.ok.rawValue }

    public init(checkedAt: Date, code: String, stage: String?) {
        self.checkedAt = checkedAt
        self.code = code
        self.stage = stage
    }
}

/// What started a recorded check.
public enum HealthTrigger: Sendable, Equatable {
    /// `POST connector/{id}/test/` by a user.
    case test(user: Int64)
    /// A batch job started by a user (`POST health_checks/`) or by the CLI (`user` nil).
    case job(id: UUID, user: Int64?)
    /// The periodic scheduler.
    case schedule

    var via: String {
        switch self {
        case .test: "test"
        case .job: "job"
        case .schedule: "schedule"
        }
    }

    var user: Int64? {
        switch self {
        case .test(let user): user
        case .job(_, let user): user
        case .schedule: nil
        }
    }

    var jobID: UUID? {
        if case .job(let id, _) = self { return id }
        return nil
    }
}

/// One recorded check of a connector (its health history).
public struct HealthCheckRecord: Sendable, Equatable {
    public let id: Int64
    public let connectorID: UUID
    public let checkedAt: Date
    public let code: String
    public let stage: String?
    public let attr: String?
    public let detail: String
    public let hint: String
    public let elapsedMilliseconds: Double
    /// The `stages` object of the verdict's `probe`.
    public let stages: JSONValue
    /// `[{code, detail, expires_at}]`.
    public let warnings: JSONValue
    /// `test`, `job` or `schedule`.
    public let triggeredVia: String
    public let jobID: UUID?
    public let triggeredBy: Int64?

    public var isValid: Bool { code == OutcomeCode.ok.rawValue }
}

/// A page of a connector's health history, newest first.
public struct HealthHistoryPage: Sendable {
    public let count: Int
    public let checks: [HealthCheckRecord]
}
