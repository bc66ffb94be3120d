import ConnectorCore
import ConnectorStore
import HTTPTypes
import TestSupport
import Testing

/// Who calls a route about something another user made: one of a ``CRUDWorld``'s tokens.
enum Requester: String, CaseIterable, CustomTestStringConvertible {
    case anonymous, revokedToken, otherOrganization, organizationMember, sharedUser, owner
    var testDescription: String { rawValue }

    func token(in world: CRUDWorld) -> String? {
        switch self {
        case .anonymous: nil
        case .revokedToken: world.revoked
        case .otherOrganization: world.outsider
        case .organizationMember: world.member.1
        case .sharedUser: world.sharedUser.1
        case .owner: world.owner
        }
    }
}

/// The permission matrices of health jobs and workflows (the connectors' is in
/// ``ConnectorCRUDTests``): every caller, every operation, and nothing changed by a refusal.
@Suite struct PermissionMatrixTests {
    enum JobOperation: String, CaseIterable, CustomTestStringConvertible {
        case status, stream, cancel
        var testDescription: String { rawValue }
    }

    /// A health job is its creator's alone: anyone else, in the organization or not, gets 404
    /// (jobs do not leak); no valid token, 401.
    static func expectedStatus(_ requester: Requester, _ operation: JobOperation) -> Int {
        switch (requester, operation) {
        case (.anonymous, _), (.revokedToken, _): 401
        case (.otherOrganization, _), (.organizationMember, _), (.sharedUser, _): 404
        case (.owner, .cancel): 204
        case (.owner, _): 200
        }
    }

    @Test(arguments: Requester.allCases, JobOperation.allCases)
    func healthJobs(_ requester: Requester, _ operation: JobOperation) async throws {
        try await CRUDWorld.run { world in
            let id = try await HealthRoutesTests.closed("mine", on: world)
            let started = try await world.call(.post, "/health_checks/", token: world.owner, body: ["connector_ids": [.string(id)]])
            let job = try #require(started.json["job_id"]?.stringValue)
            let token = requester.token(in: world)
            let answer: APIClient.Answer
            switch operation {
            case .status: answer = try await world.call(.get, "/health_checks/\(job)/", token: token)
            case .stream: answer = try await world.call(.get, "/health_checks/\(job)/stream", token: token)
            case .cancel: answer = try await world.call(.delete, "/health_checks/\(job)/", token: token)
            }
            #expect(answer.status == Self.expectedStatus(requester, operation), "\(answer.text)")
            #expect(try await world.call(.get, "/health_checks/\(job)/", token: world.owner).status == 200)
        }
    }

    enum WorkflowOperation: String, CaseIterable, CustomTestStringConvertible {
        case retrieve, delete
        var testDescription: String { rawValue }
    }

    /// The shared user's workflow on the owner's connector: every member reads it; its creator
    /// and the connector's owner may delete it, another member gets 403.
    static func expectedStatus(_ requester: Requester, _ operation: WorkflowOperation) -> Int {
        switch (requester, operation) {
        case (.anonymous, _), (.revokedToken, _): 401
        case (.otherOrganization, _): 404
        case (_, .retrieve): 200
        case (.organizationMember, .delete): 403
        case (.sharedUser, .delete), (.owner, .delete): 204
        }
    }

    @Test(arguments: Requester.allCases, WorkflowOperation.allCases)
    func workflows(_ requester: Requester, _ operation: WorkflowOperation) async throws {
        try await CRUDWorld.run { world in
            let connector = try await world.create("shared", sharedUsers: [world.sharedUser.0.id])
            let created = try await world.call(
                .post, "/workflow/", token: world.sharedUser.1, body: ["workflow_name": "bobs flow", "source_connector": .string(connector)])
            let workflow = try #require(created.json["id"]?.stringValue, "\(created.text)")
            let token = requester.token(in: world)
            let answer: APIClient.Answer
            switch operation {
            case .retrieve: answer = try await world.call(.get, "/workflow/\(workflow)/", token: token)
            case .delete: answer = try await world.call(.delete, "/workflow/\(workflow)/", token: token)
            }
            let expected = Self.expectedStatus(requester, operation)
            #expect(answer.status == expected, "\(answer.text)")
            // Whatever was refused changed nothing.
            let after = try await world.call(.get, "/workflow/\(workflow)/", token: world.owner)
            #expect(after.status == (expected == 204 ? 404 : 200))
        }
    }
}
