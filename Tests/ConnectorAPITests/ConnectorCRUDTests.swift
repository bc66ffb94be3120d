import ConnectorCore
import ConnectorStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JSONOracle
import ProbeEngine
import Probes
import TestSupport
import Testing

@testable import ConnectorAPI

/// The actors of the permission matrix and a client to call the API as each of them.
struct CRUDWorld: Sendable {
    let client: any TestClientProtocol
    let engine: ProbeEngine
    let temporary: TemporaryStore
    let owner: String
    let sharedUser: (User, String)
    let member: (User, String)
    let outsider: String
    let revoked: String

    static let base = "/api/v1/unstract/default"
    static let postgres = "postgresql|6db35f45-be11-4fd5-80c5-85c48183afbb"

    /// An engine whose cloud endpoints are all a closed loopback port: nothing leaves the machine.
    static func closedEndpointsEngine() throws -> ProbeEngine {
        let closed = "http://127.0.0.1:1"
        return try ProbeEngine.standard(
            configuration: EngineConfiguration(reactorThreads: 1, blockingThreads: 2),
            google: GoogleEndpoints(tokenURL: closed + "/token", storageURL: closed, bigQueryURL: closed, driveURL: closed),
            dropbox: DropboxEndpoints(apiURL: closed), snowflake: SnowflakeEndpoints(baseURLOverride: closed))
    }

    static func run(_ body: @Sendable (CRUDWorld) async throws -> Void) async throws {
        let engine = try closedEndpointsEngine()
        defer { engine.shutdown() }
        try await TemporaryStore.with { temporary in
            let shared = try await temporary.member("bob")
            let member = try await temporary.member("carol")
            _ = try await temporary.store.createOrganization(id: "elsewhere", name: "Elsewhere")
            let (_, outsider) = try await temporary.member("mallory", of: "elsewhere")
            let (revokedUser, revoked) = try await temporary.member("trent")
            for token in try await temporary.store.tokens(userID: revokedUser.id) { _ = try await temporary.store.revokeToken(id: token.id) }
            let app = Application(router: buildRouter(engine: engine, store: temporary.store))
            try await app.test(.router) { client in
                try await body(
                    CRUDWorld(
                        client: client, engine: engine, temporary: temporary, owner: temporary.adminToken, sharedUser: shared, member: member,
                        outsider: outsider, revoked: revoked))
            }
        }
    }

    static func metadata(host: String = "db.invalid", password: String = "pw-canary-1") -> JSONValue {
        ["host": .string(host), "port": "5432", "database": "app", "user": "app", "password": .string(password)]
    }

    /// Calls the API under `base`; `token` nil sends no Authorization header.
    @discardableResult
    func call(_ method: HTTPRequest.Method, _ path: String, token: String?, body: JSONValue? = nil) async throws -> APIClient.Answer {
        try await APIClient(client: client, base: Self.base).call(method, path, token: token, body: body)
    }

    /// Creates a connector as the owner and returns its id.
    func create(_ name: String, sharedUsers: [Int64] = [], toOrg: Bool = false, metadata: JSONValue = metadata()) async throws -> String {
        let body: JSONValue = [
            "connector_id": .string(Self.postgres), "connector_name": .string(name), "connector_metadata": metadata,
            "shared_users": .array(sharedUsers.map { .number(Double($0)) }), "shared_to_org": .bool(toOrg),
        ]
        let created = try await call(.post, "/connector/", token: owner, body: body)
        #expect(created.status == 201, "\(created.text)")
        return try #require(created.json["id"]?.stringValue)
    }
}

/// The elements of a JSON array (none for anything else).
private func rows(_ json: JSONValue?) -> [JSONValue] {
    guard case .array(let rows)? = json else { return [] }
    return rows
}

private func names(_ json: JSONValue) -> [String] {
    rows(json).compactMap { $0["connector_name"]?.stringValue }
}

private func firstErrorAttr(_ json: JSONValue) -> String? {
    rows(json["errors"]).first?["attr"]?.stringValue
}

@Suite struct ConnectorCRUDTests {
    /// Who calls, and on which connector: each sees the connector its way.
    enum Caller: String, CaseIterable, CustomTestStringConvertible {
        case anonymous, revokedToken, otherOrganization, memberWithoutShare, sharedUser, organizationMember, owner
        var testDescription: String { rawValue }
    }

    /// What the caller does to the connector.
    enum Operation: String, CaseIterable, CustomTestStringConvertible {
        case retrieve, replace, patch, delete, test
        var testDescription: String { rawValue }
    }

    /// The permission matrix (IsOwnerOrSharedUserOrSharedToOrg): 401 without a valid token, 404 for
    /// whoever may not see the connector (another organization's member too: it does not leak),
    /// read and test for viewers, everything for the owner. A test's status is its verdict's: the
    /// connector's host does not resolve (400 `host_not_found`).
    static func expectedStatus(_ caller: Caller, _ operation: Operation) -> Int {
        switch (caller, operation) {
        case (.anonymous, _), (.revokedToken, _): 401
        case (.otherOrganization, _), (.memberWithoutShare, _): 404
        case (.sharedUser, .retrieve), (.organizationMember, .retrieve), (.owner, .retrieve), (.owner, .replace), (.owner, .patch): 200
        case (_, .test): 400
        case (.owner, .delete): 204
        case (.sharedUser, _), (.organizationMember, _): 403
        }
    }

    @Test(arguments: Caller.allCases, Operation.allCases)
    func permissionMatrix(_ caller: Caller, _ operation: Operation) async throws {
        try await CRUDWorld.run { world in
            let id: String
            let token: String?
            switch caller {
            case .anonymous: (id, token) = (try await world.create("c"), nil)
            case .revokedToken: (id, token) = (try await world.create("c"), world.revoked)
            case .otherOrganization: (id, token) = (try await world.create("c", toOrg: true), world.outsider)
            case .memberWithoutShare: (id, token) = (try await world.create("c", sharedUsers: [world.sharedUser.0.id]), world.member.1)
            case .sharedUser: (id, token) = (try await world.create("c", sharedUsers: [world.sharedUser.0.id]), world.sharedUser.1)
            case .organizationMember: (id, token) = (try await world.create("c", toOrg: true), world.member.1)
            case .owner: (id, token) = (try await world.create("c"), world.owner)
            }
            let update: JSONValue = ["connector_name": "renamed", "connector_metadata": CRUDWorld.metadata()]
            let answer: APIClient.Answer
            switch operation {
            case .retrieve: answer = try await world.call(.get, "/connector/\(id)/", token: token)
            case .replace: answer = try await world.call(.put, "/connector/\(id)/", token: token, body: update)
            case .patch: answer = try await world.call(.patch, "/connector/\(id)/", token: token, body: ["shared_to_org": true])
            case .delete: answer = try await world.call(.delete, "/connector/\(id)/", token: token)
            case .test: answer = try await world.call(.post, "/connector/\(id)/test/", token: token)
            }
            #expect(answer.status == Self.expectedStatus(caller, operation), "\(answer.text)")
            if answer.status == 200, operation == .retrieve { #expect(answer.json["is_owner"] == .bool(caller == .owner)) }
            if operation == .test, answer.status == 400 { #expect(answer.json["probe"]?["code"] == "host_not_found", "\(answer.text)") }
            // Whatever was refused changed nothing: the owner still reads the connector as created.
            let after = try await world.call(.get, "/connector/\(id)/", token: world.owner)
            switch (operation, answer.status) {
            case (.delete, 204): #expect(after.status == 404)
            case (.replace, 200): #expect(after.json["connector_name"] == "renamed")
            default: #expect(after.status == 200 && after.json["connector_name"] == "c")
            }
        }
    }

    /// Beyond one connector: lists, creating, and the routes without a connector id.
    @Test func listsCreateAndMalformedIds() async throws {
        try await CRUDWorld.run { world in
            _ = try await world.create("direct", sharedUsers: [world.sharedUser.0.id])
            _ = try await world.create("org-wide", toOrg: true)
            _ = try await world.create("private")
            let body: JSONValue = ["connector_id": .string(CRUDWorld.postgres), "connector_name": "new", "connector_metadata": CRUDWorld.metadata()]
            for token in [nil, world.revoked] {
                #expect(try await world.call(.get, "/connector/", token: token).status == 401)
                #expect(try await world.call(.post, "/connector/", token: token, body: body).status == 401)
            }
            // A member of another organization: 404 (the organization does not leak).
            #expect(try await world.call(.get, "/connector/", token: world.outsider).status == 404)
            #expect(try await world.call(.post, "/connector/", token: world.outsider, body: body).status == 404)
            // Lists show exactly what each may see.
            #expect(Set(names(try await world.call(.get, "/connector/", token: world.owner).json)) == ["direct", "org-wide", "private"])
            #expect(Set(names(try await world.call(.get, "/connector/", token: world.sharedUser.1).json)) == ["direct", "org-wide"])
            #expect(Set(names(try await world.call(.get, "/connector/", token: world.member.1).json)) == ["org-wide"])
            // Any member may create; the creator owns it.
            let mine = try await world.call(
                .post, "/connector/", token: world.member.1,
                body: ["connector_id": .string(CRUDWorld.postgres), "connector_name": "carol's", "connector_metadata": CRUDWorld.metadata()])
            #expect(mine.status == 201 && mine.json["is_owner"] == true)
            #expect(mine.json["created_by"] == .number(Double(world.member.0.id)))
            // Malformed ids are just not found.
            #expect(try await world.call(.get, "/connector/not-a-uuid/", token: world.owner).status == 404)
        }
    }

    @Test func concurrentCreatesWithOneNameGiveOne201AndOne409() async throws {
        try await CRUDWorld.run { world in
            let body: JSONValue = [
                "connector_id": .string(CRUDWorld.postgres), "connector_name": "twin", "connector_metadata": CRUDWorld.metadata(),
            ]
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for token in [world.owner, world.sharedUser.1, world.member.1, world.owner] {
                    group.addTask { try await world.call(.post, "/connector/", token: token, body: body).status }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses.sorted() == [201, 409, 409, 409])
            // A rename onto an existing name is a 409 as well.
            let other = try await world.create("other")
            let rename = try await world.call(.patch, "/connector/\(other)/", token: world.owner, body: ["connector_name": "twin"])
            #expect(rename.status == 409 && firstErrorAttr(rename.json) == "connector_name")
        }
    }

    @Test func deletingAConnectorAWorkflowUsesIs409() async throws {
        try await CRUDWorld.run { world in
            let id = try await world.create("in-use")
            let workflow = try await world.call(
                .post, "/workflow/", token: world.owner, body: ["workflow_name": "etl", "source_connector": .string(id)])
            #expect(workflow.status == 201, "\(workflow.text)")
            let refused = try await world.call(.delete, "/connector/\(id)/", token: world.owner)
            #expect(refused.status == 409)
            #expect(refused.text.contains("in-use"))
            #expect(try await world.call(.get, "/connector/\(id)/", token: world.owner).status == 200)
            let workflowID = try #require(workflow.json["id"]?.stringValue)
            #expect(try await world.call(.delete, "/workflow/\(workflowID)/", token: world.member.1).status == 403)
            #expect(try await world.call(.delete, "/workflow/\(workflowID)/", token: world.owner).status == 204)
            #expect(try await world.call(.delete, "/connector/\(id)/", token: world.owner).status == 204)
            // A workflow may only use connectors the caller can see.
            let hidden = try await world.create("hidden")
            let sneaky = try await world.call(
                .post, "/workflow/", token: world.member.1, body: ["workflow_name": "sneaky", "source_connector": .string(hidden)])
            #expect(sneaky.status == 400 && firstErrorAttr(sneaky.json) == "source_connector")
        }
    }

    /// Issue 6: a shared user's workflow no longer pins the owner's connector for good. The 409
    /// names the workflow; after un-sharing, the shared user's workflow list hides the connector's
    /// id; the owner may delete the workflow, then the connector.
    @Test func theOwnerCanFreeAConnectorASharedUsersWorkflowUses() async throws {
        try await CRUDWorld.run { world in
            let (bob, bobToken) = world.sharedUser
            let id = try await world.create("pinned", sharedUsers: [bob.id])
            let created = try await world.call(
                .post, "/workflow/", token: bobToken, body: ["workflow_name": "bobs flow", "source_connector": .string(id)])
            #expect(created.status == 201, "\(created.text)")
            let workflowID = try #require(created.json["id"]?.stringValue)

            let refused = try await world.call(.delete, "/connector/\(id)/", token: world.owner)
            #expect(refused.status == 409)
            let errors = rows(refused.json["errors"])
            #expect(refused.json["type"] == "client_error" && errors.count == 1)
            #expect(errors.first?["code"] == "connector_in_use" && errors.first?["attr"] == .null)
            let expected: JSONValue = [["id": .string(workflowID), "workflow_name": "bobs flow", "created_by_email": .string(bob.email)]]
            #expect(refused.json["workflows"] == expected, "\(refused.text)")

            // Un-shared, bob still sees his workflow but no longer the connector's id.
            #expect(try await world.call(.patch, "/connector/\(id)/", token: world.owner, body: ["shared_users": []]).status == 200)
            let bobsList = rows(try await world.call(.get, "/workflow/", token: bobToken).json)
            #expect(bobsList.map { $0["id"] } == [.string(workflowID)] && bobsList.first?["source_connector"] == .null)
            #expect(try await world.call(.get, "/workflow/\(workflowID)/", token: bobToken).json["source_connector"] == .null)
            #expect(!(try await world.call(.get, "/workflow/", token: world.member.1).text.contains(id)))
            #expect(rows(try await world.call(.get, "/workflow/", token: world.owner).json).first?["source_connector"] == .string(id))

            // Carol neither created it nor owns its connector; the connector's owner may delete it.
            #expect(try await world.call(.delete, "/workflow/\(workflowID)/", token: world.member.1).status == 403)
            #expect(try await world.call(.delete, "/workflow/\(workflowID)/", token: world.owner).status == 204)
            #expect(try await world.call(.delete, "/workflow/\(workflowID)/", token: world.owner).status == 404)
            #expect(try await world.call(.delete, "/connector/\(id)/", token: world.owner).status == 204)
        }
    }

    /// `workflow_name` follows the connector name rules (NUL was a 500 on PostgreSQL).
    @Test(arguments: ["nul\u{0}name", "<b>bold</b>", "line\nbreak", "   ", String(repeating: "w", count: 129)])
    func workflowNamesFollowTheConnectorNameRules(_ name: String) async throws {
        try await CRUDWorld.run { world in
            let response = try await world.call(.post, "/workflow/", token: world.owner, body: ["workflow_name": .string(name)])
            #expect(response.status == 400 && firstErrorAttr(response.json) == "workflow_name", "\(response.text)")
        }
    }

    @Test func patchingSharedUsersNotifiesOnlyNewlyAddedUsers() async throws {
        try await CRUDWorld.run { world in
            let id = try await world.create("team")
            let bob = world.sharedUser.0.id
            let carol = world.member.0.id
            var response = try await world.call(.patch, "/connector/\(id)/", token: world.owner, body: ["shared_users": [.number(Double(bob))]])
            #expect(response.status == 200)
            // Reads (rendered once, then reused) follow every change.
            #expect(try await world.call(.get, "/connector/\(id)/", token: world.owner).json["shared_users"] == [.number(Double(bob))])
            response = try await world.call(
                .patch, "/connector/\(id)/", token: world.owner, body: ["shared_users": [.number(Double(bob)), .number(Double(carol))]])
            let both: JSONValue = [.number(Double(min(bob, carol))), .number(Double(max(bob, carol)))]
            #expect(response.json["shared_users"] == both)
            #expect(try await world.call(.get, "/connector/\(id)/", token: world.owner).json["shared_users"] == both)
            guard case .array(let listed) = try await world.call(.get, "/connector/", token: world.owner).json else {
                Issue.record("list is not an array")
                return
            }
            #expect(listed.first?["shared_users"] == both)
            // Re-sending the same list adds no one.
            _ = try await world.call(
                .patch, "/connector/\(id)/", token: world.owner, body: ["shared_users": [.number(Double(bob)), .number(Double(carol))]])
            let bobNotes = try await world.call(.get, "/notifications/", token: world.sharedUser.1)
            let carolNotes = try await world.call(.get, "/notifications/", token: world.member.1)
            guard case .array(let bobRows) = bobNotes.json, case .array(let carolRows) = carolNotes.json else {
                Issue.record("notifications are not lists")
                return
            }
            #expect(bobRows.count == 1 && carolRows.count == 1)
            #expect(carolRows.first?["resource_name"] == "team" && carolRows.first?["resource_id"] == .string(id))
            #expect(try await world.call(.get, "/notifications/", token: world.owner).json == .array([]))
            // Removing a member (no connector write) drops them from the share at once.
            #expect(try await world.temporary.store.removeMembership(organization: "default", userID: carol))
            #expect(try await world.call(.get, "/connector/\(id)/", token: world.owner).json["shared_users"] == [.number(Double(bob))])
            // Sharing with a non-member is a 400 naming the field.
            let stranger = try await world.call(.patch, "/connector/\(id)/", token: world.owner, body: ["shared_users": [9999]])
            #expect(stranger.status == 400 && firstErrorAttr(stranger.json) == "shared_users")
        }
    }

    @Test func secretsAreMaskedAndTheMaskKeepsTheStoredValue() async throws {
        try await CRUDWorld.run { world in
            let id = try await world.create("masked", metadata: CRUDWorld.metadata(password: "pw-canary-1"))
            let read = try await world.call(.get, "/connector/\(id)/", token: world.owner)
            #expect(read.json["connector_metadata"]?["password"] == "********")
            #expect(!read.text.contains("pw-canary-1"))
            #expect(!(try await world.call(.get, "/connector/?page=1", token: world.owner).text.contains("pw-canary-1")))
            // Sending the mask back keeps the stored password.
            let keep = try await world.call(
                .patch, "/connector/\(id)/", token: world.owner,
                body: ["connector_metadata": CRUDWorld.metadata(password: "********")])
            #expect(keep.status == 200 && !keep.text.contains("pw-canary-1"))
            let uuid = try #require(UUID(uuidString: id))
            #expect(try await world.temporary.store.connector(id: uuid, organization: "default")?.metadata["password"] == "pw-canary-1")
            // Re-aiming the stored password at another host is refused, naming the secret field.
            let rebind = try await world.call(
                .patch, "/connector/\(id)/", token: world.owner,
                body: ["connector_metadata": CRUDWorld.metadata(host: "evil.invalid", password: "********")])
            #expect(rebind.status == 400 && firstErrorAttr(rebind.json) == "connector_metadata.password")
            #expect(try await world.temporary.store.connector(id: uuid, organization: "default")?.metadata["host"] == "db.invalid")
            // With the password sent again, the new host is accepted.
            let moved = try await world.call(
                .patch, "/connector/\(id)/", token: world.owner,
                body: ["connector_metadata": CRUDWorld.metadata(host: "new.invalid", password: "pw-canary-2")])
            #expect(moved.status == 200 && moved.json["connector_metadata"]?["host"] == "new.invalid")
        }
    }

    @Test func testTrueSavesOnlyWhenTheTestPasses() async throws {
        try await CRUDWorld.run { world in
            let body: JSONValue = [
                "connector_id": .string(CRUDWorld.postgres), "connector_name": "unreachable", "connector_metadata": CRUDWorld.metadata(),
            ]
            let verdict = try await world.call(.post, "/connector/?test=true", token: world.owner, body: body)
            #expect(verdict.status == 400 && verdict.json["is_valid"] == false && verdict.json["probe"]?["code"] == "host_not_found")
            #expect(names(try await world.call(.get, "/connector/", token: world.owner).json).isEmpty)
            let id = try await world.create("saved")
            let failedUpdate = try await world.call(
                .patch, "/connector/\(id)/?test=true", token: world.owner,
                body: ["connector_name": "changed", "connector_metadata": CRUDWorld.metadata(host: "other.invalid", password: "x")])
            #expect(failedUpdate.json["is_valid"] == false)
            #expect(try await world.call(.get, "/connector/\(id)/", token: world.owner).json["connector_name"] == "saved")
        }
    }

    @Test func validationNamesTheField() async throws {
        try await CRUDWorld.run { world in
            func attr(_ body: JSONValue) async throws -> (Int, String?) {
                let response = try await world.call(.post, "/connector/", token: world.owner, body: body)
                return (response.status, firstErrorAttr(response.json))
            }
            let good = CRUDWorld.metadata()
            #expect(try await attr(["connector_name": "x", "connector_metadata": good]) == (400, "connector_id"))
            #expect(try await attr(["connector_id": "nope|1", "connector_name": "x", "connector_metadata": good]) == (400, "connector_id"))
            #expect(try await attr(["connector_id": .string(CRUDWorld.postgres), "connector_name": "x"]) == (400, "connector_metadata"))
            #expect(
                try await attr(["connector_id": .string(CRUDWorld.postgres), "connector_name": "  ", "connector_metadata": good]) == (
                    400, "connector_name"
                ))
            #expect(
                try await attr(["connector_id": .string(CRUDWorld.postgres), "connector_name": "<b>x</b>", "connector_metadata": good]) == (
                    400, "connector_name"
                ))
            #expect(
                try await attr([
                    "connector_id": .string(CRUDWorld.postgres), "connector_name": .string(String(repeating: "n", count: 129)),
                    "connector_metadata": good,
                ]) == (400, "connector_name"))
            let badPort: JSONValue = ["host": "h", "port": "99999", "database": "d", "user": "u", "password": "p"]
            let (status, field) = try await attr(["connector_id": .string(CRUDWorld.postgres), "connector_name": "x", "connector_metadata": badPort])
            #expect(status == 400 && field?.hasPrefix("connector_metadata") == true)
            #expect(
                try await attr(["connector_id": .string(CRUDWorld.postgres), "connector_name": "x", "connector_metadata": good, "surprise": 1]) == (
                    400, "surprise"
                ))
            let id = try await world.create("typed")
            let put = try await world.call(.put, "/connector/\(id)/", token: world.owner, body: ["connector_name": "typed"])
            #expect(put.status == 400 && firstErrorAttr(put.json) == "connector_metadata")
        }
    }

    @Test func listFiltersOrderingAndPagination() async throws {
        try await CRUDWorld.run { world in
            for name in ["c", "a", "b", "d", "e"] { _ = try await world.create(name) }
            #expect(names(try await world.call(.get, "/connector/?ordering=connector_name", token: world.owner).json) == ["a", "b", "c", "d", "e"])
            #expect(names(try await world.call(.get, "/connector/", token: world.owner).json) == ["e", "d", "b", "a", "c"])
            #expect(names(try await world.call(.get, "/connector/?connector_name=b", token: world.owner).json) == ["b"])
            #expect(names(try await world.call(.get, "/connector/?connector_mode=FILESYSTEM", token: world.owner).json).isEmpty)
            #expect(
                names(try await world.call(.get, "/connector/?connector_mode=DATABASE&ordering=-connector_name", token: world.owner).json) == [
                    "e", "d", "c", "b", "a",
                ])
            #expect(try await world.call(.get, "/connector/?ordering=password", token: world.owner).status == 400)
            let page = try await world.call(.get, "/connector/?ordering=connector_name&page=2&page_size=2", token: world.owner)
            #expect(page.json["count"] == 5)
            #expect(names(page.json["results"] ?? .null) == ["c", "d"])
            #expect(page.json["next"]?.stringValue?.contains("page=3") == true)
            #expect(page.json["previous"]?.stringValue?.contains("page=1") == true)
            let last = try await world.call(.get, "/connector/?ordering=connector_name&page=3&page_size=2", token: world.owner)
            #expect(last.json["next"] == .null && names(last.json["results"] ?? .null) == ["e"])
            #expect(try await world.call(.get, "/connector/?page=9", token: world.owner).status == 404)
            #expect(try await world.call(.get, "/connector/?page=0", token: world.owner).status == 400)
            // Found by schemathesis: an offset that overflows was a crash.
            #expect(try await world.call(.get, "/connector/?page=9223372036854775807&page_size=2", token: world.owner).status == 404)
            #expect(try await world.call(.get, "/connector/?search=%00", token: world.owner).status == 400)
        }
    }
}

@Suite struct TimestampTests {
    @Test func matchesFoundationsISO8601WithMicroseconds() {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        for seconds in [0.0, 951_782_400, 1_709_164_800.5, 4_102_444_799.999_999, 1_795_000_000.123_456, 68_169_600] {
            let date = Date(timeIntervalSince1970: seconds)
            let ours = ConnectorRepresentation.timestamp(date)
            let whole = Date(timeIntervalSince1970: seconds.rounded(.down))
            #expect(ours.hasPrefix(String(formatter.string(from: whole).dropLast())), "\(seconds)")
            #expect(ours.count == 27 && ours.hasSuffix("Z"))
        }
        #expect(ConnectorRepresentation.timestamp(Date(timeIntervalSince1970: 1_795_000_000.123_456)) == "2026-11-18T11:06:40.123456Z")
    }
}
