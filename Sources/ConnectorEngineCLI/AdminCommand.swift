import ArgumentParser
import ConnectorStore
import Encryption
import Foundation
import Logging

/// `connector-engine admin`: organizations, users, memberships, tokens, the connectors and
/// workflows of users who left, key rotation, audit log.
struct Admin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Manage organizations, users, memberships and tokens, and the connectors and workflows of users who left; rotate keys; read the audit log.",
        subcommands: [
            Org.self, UserGroup.self, Member.self, Token.self, ConnectorGroup.self, WorkflowGroup.self, RotateKeys.self, Audit.self,
        ])

    struct Org: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "org", abstract: "Organizations.", subcommands: [OrgCreate.self, OrgList.self])
    }
    struct UserGroup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "user", abstract: "Users.", subcommands: [UserCreate.self, UserList.self])
    }
    struct Member: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "member", abstract: "Memberships.", subcommands: [MemberAdd.self, MemberRemove.self, MemberList.self])
    }
    struct Token: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "token", abstract: "API tokens.", subcommands: [TokenCreate.self, TokenList.self, TokenRevoke.self])
    }
    struct ConnectorGroup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "connector", abstract: "Connectors (audited): give away or delete those of users who left.",
            subcommands: [ConnectorList.self, ConnectorTransfer.self, ConnectorDelete.self])
    }
    struct WorkflowGroup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "workflow", abstract: "Workflows (audited): delete those that keep a connector in use.",
            subcommands: [WorkflowList.self, WorkflowDelete.self])
    }
}

/// Options every admin command takes, and the store they open.
struct AdminOptions: ParsableArguments {
    @OptionGroup var store: StoreOptions

    @Flag(help: "Production mode: never generate an encryption key.")
    var production = false

    func withStore(_ body: (ConnectorStore) async throws -> Void) async throws {
        var logger = Logger(label: "connector-engine-admin")
        logger.logLevel = .warning
        do {
            try await store.withStore(production: production, logger: logger, body)
        } catch let error as IdentityError {
            throw ValidationError(error.description)
        }
    }

    func user(_ email: String, in store: ConnectorStore) async throws -> User {
        guard let user = try await store.user(email: email) else { throw ValidationError("no user with email \(email)") }
        return user
    }
}

/// An admin command that works on the store: `run()` opens it for `run(on:)` and closes it
/// after.
protocol StoreCommand: AsyncParsableCommand {
    var options: AdminOptions { get }
    func run(on store: ConnectorStore) async throws
}

extension StoreCommand {
    func run() async throws {
        try await options.withStore { try await run(on: $0) }
    }
}

/// A connector or workflow id on the command line: a UUID, shown lower-case.
extension UUID: @retroactive ExpressibleByArgument {
    public init?(argument: String) { self.init(uuidString: argument) }
    public var defaultValueDescription: String { uuidString.lowercased() }
}

extension MembershipRole: ExpressibleByArgument {}

/// An owner or creator as the lists show them: the email, flagged when no longer a member.
private func person(_ email: String?, isMember: Bool) -> String {
    (email ?? "-") + (isMember ? "" : " (not a member)")
}

/// One line per workflow: id, name, source and destination connector ids, creator.
private func describe(_ summary: WorkflowSummary) -> String {
    let workflow = summary.workflow
    let connectors = [workflow.sourceConnectorID, workflow.destinationConnectorID].map { $0?.uuidString.lowercased() ?? "-" }
    return "\(workflow.id.uuidString.lowercased())\t\(workflow.name)\t\(connectors.joined(separator: "\t"))\t"
        + person(summary.creatorEmail, isMember: summary.creatorIsMember) + "\n"
}

private func iso(_ date: Date) -> String { ISO8601DateFormatter().string(from: date) }

struct OrgCreate: StoreCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create an organization.")
    @Argument(help: "Organization id as used in URLs (a-z, 0-9, '_', '-').") var id: String
    @Option(help: "Display name.") var name: String?
    @OptionGroup var options: AdminOptions

    func run(on store: ConnectorStore) async throws {
        let org = try await store.createOrganization(id: id, name: name ?? id)
        Console.write("created organization \(org.id)\n")
    }
}

struct OrgList: StoreCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List organizations.")
    @OptionGroup var options: AdminOptions

    func run(on store: ConnectorStore) async throws {
        for org in try await store.organizations() { Console.write("\(org.id)\t\(org.name)\t\(iso(org.createdAt))\n") }
    }
}

struct UserCreate: StoreCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a user.")
    @Argument(help: "Email address.") var email: String
    @Option(help: "Display name.") var name: String?
    @OptionGroup var options: AdminOptions

    func run(on store: ConnectorStore) async throws {
        let user = try await store.createUser(email: email, name: name ?? email)
        Console.write("created user \(user.id) \(user.email)\n")
    }
}

struct UserList: StoreCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List users.")
    @OptionGroup var options: AdminOptions

    func run(on store: ConnectorStore) async throws {
        for user in try await store.users() { Console.write("\(user.id)\t\(user.email)\t\(user.name)\n") }
    }
}

struct MemberAdd: StoreCommand {
    static let configuration = CommandConfiguration(
        commandName: "add", abstract: "Add a user to an organization (or change their role).")
    @Option(help: "Organization id.") var org: String
    @Option(help: "User email.") var email: String
    @Option(help: "admin or member.") var role = MembershipRole.member
    @OptionGroup var options: AdminOptions

    func run(on store: ConnectorStore) async throws {
        let user = try await options.user(email, in: store)
        try await store.setMembership(organization: org, userID: user.id, role: role)
        Console.write("\(user.email) is \(role.rawValue) of \(org)\n")
    }
}

struct MemberRemove: StoreCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove", abstract: "Remove a user from an organization (and from its connectors' shares).")
    @Option(help: "Organization id.") var org: String
    @Option(help: "User email.") var email: String
    @OptionGroup var options: AdminOptions

    func run(on store: ConnectorStore) async throws {
        let user = try await options.user(email, in: store)
        let removed = try await store.removeMembership(organization: org, userID: user.id)
        Console.write(removed ? "removed \(user.email) from \(org)\n" : "\(user.email) was not a member of \(org)\n")
    }
}

struct MemberList: StoreCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List an organization's members.")
    @Option(help: "Organization id.") var org: String
    @OptionGroup var options: AdminOptions

    func run(on store: ConnectorStore) async throws {
        for member in try await store.memberships(organization: org) {
            Console.write("\(member.userID)\t\(member.email)\t\(member.role.rawValue)\n")
        }
    }
}

struct TokenCreate: StoreCommand {
    static let configuration = CommandConfiguration(
        commandName: "create", abstract: "Create an API token for a user; it is printed once.")
    @Option(help: "User email.") var email: String
    @Option(help: "A name to recognize the token by.") var name = "cli"
    @OptionGroup var options: AdminOptions

    func run(on store: ConnectorStore) async throws {
        let user = try await options.user(email, in: store)
        let token = try await store.issueToken(userID: user.id, name: name)
        Console.write("token \(token.record.id) for \(user.email) (shown only now):\n\(token.secret)\n")
    }
}

struct TokenList: StoreCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List tokens (never their secrets).")
    @Option(help: "Only this user's tokens.") var email: String?
    @OptionGroup var options: AdminOptions

    func run(on store: ConnectorStore) async throws {
        let userID = try await email.asyncMap { try await options.user($0, in: store).id }
        for token in try await store.tokens(userID: userID) {
            let state = token.revokedAt.map { "revoked \(iso($0))" } ?? "active"
            Console.write("\(token.id)\tuser \(token.userID)\t\(token.name)\t\(iso(token.createdAt))\t\(state)\n")
        }
    }
}

struct TokenRevoke: StoreCommand {
    static let configuration = CommandConfiguration(commandName: "revoke", abstract: "Revoke a token by its id.")
    @Argument(help: "Token id (from token-list).") var id: String
    @OptionGroup var options: AdminOptions

    func run(on store: ConnectorStore) async throws {
        guard try await store.revokeToken(id: id) else { throw ValidationError("no active token with id \(id)") }
        Console.write("revoked \(id)\n")
    }
}

struct ConnectorList: StoreCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List an organization's connectors and their owners (never their credentials).")
    @Option(help: "Organization id.") var org: String
    @OptionGroup var options: AdminOptions

    func run(on store: ConnectorStore) async throws {
        for connector in try await store.connectorOwnership(organization: org) {
            Console.write(
                "\(connector.id.uuidString.lowercased())\t\(connector.name)\t\(connector.typeID)\t"
                    + person(connector.ownerEmail, isMember: connector.ownerIsMember) + "\n")
        }
    }
}

struct ConnectorTransfer: StoreCommand {
    static let configuration = CommandConfiguration(
        commandName: "transfer", abstract: "Make another member of the organization the owner of a connector.")
    @Option(help: "Organization id.") var org: String
    @Argument(help: "Connector id (a UUID).") var id: UUID
    @Option(help: "Email of the new owner, a member of the organization.") var to: String
    @OptionGroup var options: AdminOptions

    func run(on store: ConnectorStore) async throws {
        let user = try await options.user(to, in: store)
        do {
            try await store.transferConnector(id: id, organization: org, to: user.id)
        } catch ConnectorStoreError.notFound {
            throw ValidationError("no connector \(id.uuidString.lowercased()) in \(org)")
        } catch ConnectorStoreError.notAMember {
            throw ValidationError("\(user.email) is not a member of \(org)")
        }
        Console.write("\(user.email) now owns connector \(id.uuidString.lowercased())\n")
    }
}

struct ConnectorDelete: StoreCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete", abstract: "Delete a connector; refused while a workflow uses it (the workflows are listed).")
    @Option(help: "Organization id.") var org: String
    @Argument(help: "Connector id (a UUID).") var id: UUID
    @OptionGroup var options: AdminOptions

    func run(on store: ConnectorStore) async throws {
        do {
            try await store.deleteConnector(id: id, organization: org, by: nil)
        } catch ConnectorStoreError.notFound {
            throw ValidationError("no connector \(id.uuidString.lowercased()) in \(org)")
        } catch ConnectorStoreError.inUse {
            let using = try await store.workflows(organization: org, matching: WorkflowQuery(usingConnector: id))
            Console.write(using.map(describe).joined())
            throw ValidationError("connector \(id.uuidString.lowercased()) is used by the workflows above; delete them first (admin workflow delete)")
        }
        Console.write("deleted connector \(id.uuidString.lowercased())\n")
    }
}

struct WorkflowList: StoreCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List an organization's workflows: id, name, source, destination, creator.")
    @Option(help: "Organization id.") var org: String
    @Option(help: "Only the workflows that use this connector id.") var connector: UUID?
    @OptionGroup var options: AdminOptions

    func run(on store: ConnectorStore) async throws {
        let workflows = try await store.workflows(organization: org, matching: WorkflowQuery(usingConnector: connector))
        Console.write(workflows.map(describe).joined())
    }
}

struct WorkflowDelete: StoreCommand {
    static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete a workflow.")
    @Option(help: "Organization id.") var org: String
    @Argument(help: "Workflow id (a UUID).") var id: UUID
    @OptionGroup var options: AdminOptions

    func run(on store: ConnectorStore) async throws {
        guard try await store.deleteWorkflow(id: id, organization: org, by: nil) else {
            throw ValidationError("no workflow \(id.uuidString.lowercased()) in \(org)")
        }
        Console.write("deleted workflow \(id.uuidString.lowercased())\n")
    }
}

struct RotateKeys: StoreCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate-keys",
        abstract: "Re-encrypt every stored connector under the primary key; safe to re-run after an interruption.")
    @OptionGroup var options: AdminOptions

    func run(on store: ConnectorStore) async throws {
        let primary = store.keyRing.primary.id
        let count = try await store.rotateKeys { done, total in
            if done == total || done % 100 == 0 { Console.write("\r\(done)/\(total) connectors re-encrypted under '\(primary)'") }
        }
        Console.write(count == 0 ? "every connector is already under '\(primary)'\n" : "\n")
        let usage = try await store.keyUsage()
        Console.write("keys in use: \(usage.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))\n")
    }
}

struct Audit: StoreCommand {
    static let configuration = CommandConfiguration(abstract: "List the newest audit log entries.")
    @Option(help: "Only this organization.") var org: String?
    @Option(help: "How many entries.") var limit = 50
    @OptionGroup var options: AdminOptions

    func run(on store: ConnectorStore) async throws {
        for entry in try await store.auditLog(organization: org, limit: limit) {
            let actor = entry.actorUserID.map { "user \($0)" } ?? "operator"
            Console.write(
                "\(iso(entry.at))\t\(entry.organizationID)\t\(actor)\t\(entry.action.rawValue)\t\(entry.connectorID ?? "-")\t\(entry.outcome)\t\(entry.detail ?? "")\n"
            )
        }
    }
}

extension Optional {
    fileprivate func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let value = self else { return nil }
        return try await transform(value)
    }
}
