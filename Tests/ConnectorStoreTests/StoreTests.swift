import ConnectorCore
import ConnectorStore
import Encryption
import Foundation
import Testing

private let postgresType = "postgresql|6db35f45-be11-4fd5-80c5-85c48183afbb"

private func pgConnector(_ name: String, password: String = "s3cret", shared: [Int64] = [], toOrg: Bool = false) -> NewConnector {
    NewConnector(
        name: name, typeID: postgresType, mode: "DATABASE",
        metadata: ["host": "db.example", "port": "5432", "user": "app", "password": .string(password), "database": "app"],
        sharedUsers: shared, sharedToOrg: toOrg)
}

@Suite struct StoreTests {
    @Test(arguments: Backend.allCases)
    func migrationsApplyOnceAndReopenCleanly(_ backend: Backend) async throws {
        try await StoreHarness.with(backend) { harness in
            let ring = try StoreHarness.ring("k1")
            try await harness.withStore(ring) { first in
                #expect(try await first.isEmpty())
                _ = try await first.createOrganization(id: "acme", name: "Acme")
            }
            let organizations = try await harness.withStore(ring) { second in try await second.organizations().map(\.id) }
            #expect(organizations == ["acme"])
        }
    }

    @Test(arguments: Backend.allCases)
    func tokensAuthenticateOnlyMembersAndStopWhenRevoked(_ backend: Backend) async throws {
        try await StoreHarness.withPopulatedStore(backend) { store, people in
            let token = try await store.issueToken(userID: people.bob.id, name: "ci")
            #expect(token.secret.hasPrefix("ce_") && token.secret.count > 40)
            let expected = Caller(userID: people.bob.id, organizationID: "acme", role: .member)
            #expect(try await store.authenticate(token: token.secret, organization: "acme") == .caller(expected))
            #expect(try await store.authenticate(token: token.secret, organization: "other") == .notMember)
            #expect(try await store.authenticate(token: token.secret + "x", organization: "acme") == .invalidToken)
            #expect(try await store.revokeToken(id: token.record.id))
            #expect(try await store.revokeToken(id: token.record.id) == false)
            #expect(try await store.authenticate(token: token.secret, organization: "acme") == .invalidToken)
            #expect(try await store.tokens(userID: people.bob.id).first?.revokedAt != nil)
        }
    }

    @Test(arguments: Backend.allCases)
    func cachedReadsEndAtAnInProcessWrite(_ backend: Backend) async throws {
        try await StoreHarness.with(backend) { harness in
            let ring = try StoreHarness.ring("k1")
            try await harness.withStore(ring, readCacheTTL: .seconds(3600)) { server in
                let (_, user, token) = try await server.bootstrap(organization: "acme", email: "a@acme.test")
                let caller = Authentication.caller(Caller(userID: user.id, organizationID: "acme", role: .admin))
                #expect(try await server.authenticate(token: token.secret, organization: "acme") == caller)
                // Another process (here a second store on the same database) revokes: the cached answer
                // stands until its time is up; that is the documented trade-off of the cache.
                try await harness.withStore(ring) { admin in
                    #expect(try await admin.revokeToken(id: token.record.id))
                    #expect(try await admin.authenticate(token: token.secret, organization: "acme") == .invalidToken)
                    #expect(try await server.authenticate(token: token.secret, organization: "acme") == caller)
                    // A revocation through the serving store itself applies at once.
                    let second = try await server.issueToken(userID: user.id, name: "second")
                    #expect(try await server.authenticate(token: second.secret, organization: "acme") == caller)
                    #expect(try await server.revokeToken(id: second.record.id))
                    #expect(try await server.authenticate(token: second.secret, organization: "acme") == .invalidToken)
                    #expect(try await server.authenticate(token: token.secret, organization: "acme") == .invalidToken)

                    // Connectors read by id: a write through the serving store shows at once.
                    let connector = try await server.createConnector(pgConnector("cached"), organization: "acme", by: user.id)
                    #expect(try await server.connector(id: connector.id, organization: "acme")?.name == "cached")
                    _ = try await server.updateConnector(
                        id: connector.id, organization: "acme", by: user.id, change: ConnectorChange(name: "renamed"), merge: { _ in nil })
                    #expect(try await server.connector(id: connector.id, organization: "acme")?.name == "renamed")
                    // A write by another process shows once the cached read expires (here: an hour).
                    _ = try await admin.updateConnector(
                        id: connector.id, organization: "acme", by: user.id, change: ConnectorChange(name: "elsewhere"), merge: { _ in nil })
                    #expect(try await server.connector(id: connector.id, organization: "acme")?.name == "renamed")
                    #expect(try await admin.connector(id: connector.id, organization: "acme")?.name == "elsewhere")
                    try await server.deleteConnector(id: connector.id, organization: "acme", by: user.id)
                    #expect(try await server.connector(id: connector.id, organization: "acme") == nil)
                }
            }
        }
    }

    @Test(arguments: Backend.allCases)
    func connectorRoundTripsAndNamesAreUniquePerOrganization(_ backend: Backend) async throws {
        try await StoreHarness.withPopulatedStore(backend) { store, people in
            let created = try await store.createConnector(pgConnector("warehouse"), organization: "acme", by: people.alice.id)
            let read = try #require(try await store.connector(id: created.id, organization: "acme"))
            #expect(read.metadata == created.metadata)
            #expect(read.name == "warehouse" && read.createdBy == people.alice.id && read.mode == "DATABASE")
            #expect(try await store.connector(id: created.id, organization: "other") == nil)
            await #expect(throws: ConnectorStoreError.duplicateName("warehouse")) {
                _ = try await store.createConnector(pgConnector("warehouse"), organization: "acme", by: people.bob.id)
            }
            // The same name in another organization is fine.
            _ = try await store.createConnector(pgConnector("warehouse"), organization: "other", by: people.mallory.id)
            // Renaming onto an existing name is refused too, and leaves the row unchanged.
            let second = try await store.createConnector(pgConnector("lake"), organization: "acme", by: people.alice.id)
            await #expect(throws: ConnectorStoreError.duplicateName("warehouse")) {
                _ = try await store.updateConnector(
                    id: second.id, organization: "acme", by: people.alice.id, change: ConnectorChange(name: "warehouse"),
                    merge: { _ in nil })
            }
            #expect(try await store.connector(id: second.id, organization: "acme")?.name == "lake")
        }
    }

    @Test(arguments: Backend.allCases)
    func concurrentCreatesWithOneNameGiveOneSuccess(_ backend: Backend) async throws {
        try await StoreHarness.withPopulatedStore(backend) { store, people in
            for round in 0..<5 {
                let name = "race-\(round)"
                let results = await withTaskGroup(of: Bool.self) { group in
                    for user in [people.alice.id, people.bob.id, people.carol.id] {
                        group.addTask {
                            do {
                                _ = try await store.createConnector(pgConnector(name), organization: "acme", by: user)
                                return true
                            } catch ConnectorStoreError.duplicateName {
                                return false
                            } catch {
                                Issue.record("unexpected error \(error)")
                                return false
                            }
                        }
                    }
                    return await group.reduce(into: [Bool]()) { $0.append($1) }
                }
                #expect(results.filter { $0 }.count == 1, "round \(round): \(results)")
            }
        }
    }

    @Test(arguments: Backend.allCases)
    func sharingNotifiesOnlyNewlyAddedUsers(_ backend: Backend) async throws {
        try await StoreHarness.withPopulatedStore(backend, queuesWebhooks: true) { store, people in
            let connector = try await store.createConnector(pgConnector("shared"), organization: "acme", by: people.alice.id)
            let (_, first) = try await store.updateConnector(
                id: connector.id, organization: "acme", by: people.alice.id, change: ConnectorChange(sharedUsers: [people.bob.id]),
                merge: { _ in nil })
            #expect(first == [people.bob.id])
            let (updated, second) = try await store.updateConnector(
                id: connector.id, organization: "acme", by: people.alice.id,
                change: ConnectorChange(sharedUsers: [people.bob.id, people.carol.id]), merge: { _ in nil })
            #expect(second == [people.carol.id])
            #expect(updated.sharedUsers == [people.bob.id, people.carol.id].sorted())
            #expect(try await store.notifications(organization: "acme", userID: people.bob.id).count == 1)
            let carolNotes = try await store.notifications(organization: "acme", userID: people.carol.id)
            #expect(carolNotes.map(\.resourceName) == ["shared"])
            #expect(carolNotes.first?.sharedBy == people.alice.id)
            #expect(try await store.notifications(organization: "acme", userID: people.alice.id).isEmpty)
            // Each notification has one pending webhook delivery.
            let due = try await store.dueWebhooks()
            #expect(due.count == 2)
            // A user of another organization cannot be added, and nothing changes.
            await #expect(throws: ConnectorStoreError.notAMember(people.mallory.id)) {
                _ = try await store.updateConnector(
                    id: connector.id, organization: "acme", by: people.alice.id,
                    change: ConnectorChange(name: "renamed", sharedUsers: [people.mallory.id]), merge: { _ in nil })
            }
            let after = try #require(try await store.connector(id: connector.id, organization: "acme"))
            #expect(after.name == "shared" && after.sharedUsers == [people.bob.id, people.carol.id].sorted())
        }
    }

    @Test(arguments: Backend.allCases)
    func deletingAConnectorInUseIsRefusedByTheDatabase(_ backend: Backend) async throws {
        try await StoreHarness.withPopulatedStore(backend) { store, people in
            let source = try await store.createConnector(pgConnector("source"), organization: "acme", by: people.alice.id)
            let destination = try await store.createConnector(pgConnector("destination"), organization: "acme", by: people.alice.id)
            let workflow = try await store.createWorkflow(
                name: "etl", source: source.id, destination: destination.id, organization: "acme", by: people.alice.id)
            for connector in [source, destination] {
                await #expect(throws: ConnectorStoreError.inUse(name: connector.name)) {
                    try await store.deleteConnector(id: connector.id, organization: "acme", by: people.alice.id)
                }
            }
            #expect(try await store.connector(id: source.id, organization: "acme") != nil)
            #expect(try await store.deleteWorkflow(id: workflow.id, organization: "acme", by: people.alice.id))
            try await store.deleteConnector(id: source.id, organization: "acme", by: people.alice.id)
            #expect(try await store.connector(id: source.id, organization: "acme") == nil)
            await #expect(throws: ConnectorStoreError.notFound) {
                try await store.deleteConnector(id: source.id, organization: "acme", by: people.alice.id)
            }
            // A workflow cannot point at another organization's connector.
            let foreign = try await store.createConnector(pgConnector("theirs"), organization: "other", by: people.mallory.id)
            await #expect(throws: ConnectorStoreError.notFound) {
                _ = try await store.createWorkflow(
                    name: "sneaky", source: foreign.id, destination: nil, organization: "acme", by: people.alice.id)
            }
        }
    }

    /// Issue 6: a shared user's workflow pins the owner's connector. The owner learns which
    /// workflows pin it and may delete them; the operator may give away or delete what a user who
    /// left owned; every such act is audited; workflow lists hide connector ids the viewer cannot see.
    @Test(arguments: Backend.allCases)
    func aConnectorPinnedByAnotherUsersWorkflowCanBeFreed(_ backend: Backend) async throws {
        try await StoreHarness.withPopulatedStore(backend) { store, people in
            let (alice, bob, carol) = (people.alice.id, people.bob.id, people.carol.id)
            let pinned = try await store.createConnector(pgConnector("pinned", shared: [bob]), organization: "acme", by: alice)
            let bobs = try await store.createWorkflow(name: "bobs", source: pinned.id, destination: nil, organization: "acme", by: bob)
            await #expect(throws: ConnectorStoreError.inUse(name: "pinned")) {
                try await store.deleteConnector(id: pinned.id, organization: "acme", by: alice)
            }
            // The owner may know of the workflow (it uses her connector); carol may not.
            let using = try await store.workflows(organization: "acme", matching: WorkflowQuery(usingConnector: pinned.id, knownTo: alice))
            #expect(using.map(\.workflow.id) == [bobs.id] && using.first?.creatorEmail == "bob@acme.test")
            #expect(try await store.workflows(organization: "acme", matching: WorkflowQuery(usingConnector: pinned.id, knownTo: carol)).isEmpty)
            // After un-sharing, bob's list no longer shows the connector's id; the owner's does.
            _ = try await store.updateConnector(
                id: pinned.id, organization: "acme", by: alice, change: ConnectorChange(sharedUsers: []), merge: { _ in nil })
            let bobSees = try await store.workflows(organization: "acme", matching: WorkflowQuery(connectorsVisibleTo: bob))
            #expect(bobSees.map(\.workflow.id) == [bobs.id] && bobSees.first?.workflow.sourceConnectorID == nil)
            let aliceSees = try await store.workflows(organization: "acme", matching: WorkflowQuery(connectorsVisibleTo: alice))
            #expect(aliceSees.first?.workflow.sourceConnectorID == pinned.id)
            // Carol may not delete bob's workflow; the connector's owner may, and then delete the connector.
            #expect(try await store.deleteWorkflow(id: bobs.id, organization: "acme", by: carol) == false)
            #expect(try await store.deleteWorkflow(id: bobs.id, organization: "acme", by: alice))
            try await store.deleteConnector(id: pinned.id, organization: "acme", by: alice)

            // Bob leaves, owning a connector and a workflow that uses it.
            let orphan = try await store.createConnector(pgConnector("orphan"), organization: "acme", by: bob)
            let left = try await store.createWorkflow(name: "left", source: nil, destination: orphan.id, organization: "acme", by: bob)
            #expect(try await store.removeMembership(organization: "acme", userID: bob))
            let owners = try await store.connectorOwnership(organization: "acme")
            #expect(owners.map(\.name) == ["orphan"] && owners.first?.ownerEmail == "bob@acme.test" && owners.first?.ownerIsMember == false)
            #expect(try await store.workflows(organization: "acme").first?.creatorIsMember == false)
            // The operator gives the connector to a member (not to a stranger) and deletes the workflow.
            await #expect(throws: ConnectorStoreError.notAMember(people.mallory.id)) {
                try await store.transferConnector(id: orphan.id, organization: "acme", to: people.mallory.id)
            }
            try await store.transferConnector(id: orphan.id, organization: "acme", to: carol)
            let transferred = try #require(try await store.connector(id: orphan.id, organization: "acme"))
            #expect(transferred.createdBy == carol && transferred.name == "orphan")
            #expect(try await store.deleteWorkflow(id: left.id, organization: "acme", by: nil))
            try await store.deleteConnector(id: orphan.id, organization: "acme", by: nil)

            let entries = try await store.auditLog(organization: "acme", limit: 4)
            #expect(entries.map(\.action) == [.delete, .deleteWorkflow, .transfer, .create])
            #expect(entries.prefix(3).allSatisfy { $0.actorUserID == nil })
            #expect(entries[1].detail?.contains(left.id.uuidString.lowercased()) == true)
            #expect(entries[2].detail == "owner \(bob) -> \(carol)")
            let ownerDeleted = try await store.auditLog(organization: "acme").first { $0.action == .deleteWorkflow && $0.actorUserID == alice }
            #expect(ownerDeleted?.detail?.contains(bobs.id.uuidString.lowercased()) == true)
        }
    }

    @Test(arguments: Backend.allCases)
    func listingShowsOnlyVisibleConnectorsFilteredOrderedAndPaged(_ backend: Backend) async throws {
        try await StoreHarness.withPopulatedStore(backend) { store, people in
            _ = try await store.createConnector(pgConnector("alpha"), organization: "acme", by: people.alice.id)
            _ = try await store.createConnector(pgConnector("Beta", shared: [people.bob.id]), organization: "acme", by: people.alice.id)
            _ = try await store.createConnector(pgConnector("gamma", toOrg: true), organization: "acme", by: people.alice.id)
            _ = try await store.createConnector(pgConnector("delta_1"), organization: "acme", by: people.bob.id)
            var query = ConnectorQuery()
            query.ordering = .field("connector_name", descending: false)
            let forBob = try await store.connectors(organization: "acme", visibleTo: people.bob.id, query: query)
            #expect(forBob.connectors.map(\.name) == ["Beta", "delta_1", "gamma"])
            let forCarol = try await store.connectors(organization: "acme", visibleTo: people.carol.id, query: query)
            #expect(forCarol.connectors.map(\.name) == ["gamma"])
            let forAlice = try await store.connectors(organization: "acme", visibleTo: people.alice.id, query: query)
            #expect(forAlice.connectors.map(\.name) == ["Beta", "alpha", "gamma"])

            var search = query
            search.search = "ELT"
            #expect(try await store.connectors(organization: "acme", visibleTo: people.bob.id, query: search).connectors.map(\.name) == ["delta_1"])
            search.search = "_"  // a LIKE wildcard is matched literally
            #expect(try await store.connectors(organization: "acme", visibleTo: people.bob.id, query: search).connectors.map(\.name) == ["delta_1"])
            search.search = "bob@acme"  // the owner's email
            #expect(try await store.connectors(organization: "acme", visibleTo: people.bob.id, query: search).connectors.map(\.name) == ["delta_1"])

            var paged = query
            paged.page = (number: 2, size: 2)
            let page = try await store.connectors(organization: "acme", visibleTo: people.alice.id, query: paged)
            #expect(page.count == 3 && page.connectors.map(\.name) == ["gamma"])

            var byOwner = query
            byOwner.createdBy = people.bob.id
            #expect(try await store.connectors(organization: "acme", visibleTo: people.bob.id, query: byOwner).connectors.map(\.name) == ["delta_1"])
            var byType = query
            byType.typeIDs = []
            #expect(try await store.connectors(organization: "acme", visibleTo: people.bob.id, query: byType).connectors.isEmpty)
        }
    }

    @Test(arguments: Backend.allCases)
    func auditLogRecordsActionsWithoutSecrets(_ backend: Backend) async throws {
        try await StoreHarness.withPopulatedStore(backend) { store, people in
            let connector = try await store.createConnector(
                pgConnector("audited", password: "canary-audit-7731"), organization: "acme", by: people.alice.id)
            _ = try await store.updateConnector(
                id: connector.id, organization: "acme", by: people.alice.id, change: ConnectorChange(sharedToOrg: true),
                merge: { _ in nil })
            try await store.recordAudit(organization: "acme", actor: people.bob.id, action: .test, connector: connector.id, outcome: "ok")
            try await store.deleteConnector(id: connector.id, organization: "acme", by: people.alice.id)
            let entries = try await store.auditLog(organization: "acme")
            #expect(entries.map(\.action) == [.delete, .test, .share, .update, .create])
            #expect(entries.allSatisfy { $0.connectorID == connector.id.uuidString.lowercased() })
            #expect(!"\(entries)".contains("canary-audit-7731"))
        }
    }
}
