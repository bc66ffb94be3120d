import ConnectorCore
import ConnectorStore
import Foundation
import HTTPTypes
import TestSupport
import Testing

@testable import ConnectorAPI

/// Issue 8 §10: sharing at create, a create's `?test=true`, and refused requests on connector
/// routes are in the audit log, with who asked and no secret.
@Suite struct AuditTrailTests {
    @Test func sharingAtCreateAndATestBeforeCreateAreAudited() async throws {
        try await CRUDWorld.run { world in
            let id = try await world.create("shared-at-birth", sharedUsers: [world.sharedUser.0.id], toOrg: true)
            let tested = try await world.call(
                .post, "/connector/?test=true", token: world.owner,
                body: ["connector_id": .string(CRUDWorld.postgres), "connector_name": "never", "connector_metadata": CRUDWorld.metadata()])
            #expect(tested.status == 400)
            let log = try await world.temporary.store.auditLog(organization: "default")
            let mine = log.filter { $0.connectorID == id }.map(\.action)
            #expect(mine.contains(.create) && mine.contains(.share))
            let test = try #require(log.first { $0.action == .test && $0.connectorID == nil })
            #expect(test.outcome == "host_not_found")
            #expect(test.detail?.contains("create?test=true") == true)
            #expect(test.actorUserID == world.temporary.admin.id)
        }
    }

    @Test func refusedRequestsOnConnectorRoutesAreAuditedWithoutSecrets() async throws {
        try await CRUDWorld.run { world in
            let id = try await world.create("guarded", sharedUsers: [world.sharedUser.0.id])
            let (bob, bobToken) = world.sharedUser
            let (carol, carolToken) = world.member
            #expect(try await world.call(.patch, "/connector/\(id)/", token: bobToken, body: ["connector_name": "mine"]).status == 403)
            #expect(try await world.call(.get, "/connector/\(id)/", token: carolToken).status == 404)
            #expect(try await world.call(.get, "/connector/\(id)/", token: world.outsider).status == 404)
            #expect(try await world.call(.get, "/connector/", token: world.revoked).status == 401)
            #expect(try await world.call(.get, "/connector/", token: "made-up-token-value").status == 401)
            #expect(try await world.call(.get, "/connector/", token: nil).status == 401)
            // Not a connector route: not audited.
            #expect(try await world.call(.get, "/supported_connectors/", token: "made-up-token-value").status == 401)

            let denied = try await world.temporary.store.auditLog(organization: "default").filter { $0.action == .denied }
            #expect(denied.count == 6, "\(denied)")
            let bobs = denied.filter { $0.actorUserID == bob.id && $0.outcome == "403" }
            #expect(bobs.count == 1 && bobs[0].detail?.contains("PATCH") == true)
            #expect(denied.contains { $0.actorUserID == carol.id && $0.outcome == "404" })
            #expect(denied.filter { $0.actorUserID == nil && $0.outcome == "401" }.count == 3)
            #expect(denied.contains { $0.detail?.contains("no token") == true })
            let text = "\(denied)"
            for secret in [world.owner, bobToken, carolToken, world.outsider, world.revoked, "made-up-token-value"] {
                #expect(!text.contains(secret))
            }
        }
    }
}
