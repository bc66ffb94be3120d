import ConnectorCore
import ConnectorStore
import Foundation
import HTTPTypes
import TestSupport
import Testing

@testable import ConnectorAPI

/// Issue 8 §11: the contract spells the filesystem mode `FILE_SYSTEM`; `FILESYSTEM` is still
/// accepted as a filter and rows stored with it render in the contract's spelling.
@Suite struct ConnectorModeTests {
    static let s3 = "minio|c799f6e3-2b57-434e-aaac-b5daa415da19"

    static func modes(_ json: JSONValue) -> [String] {
        guard case .array(let rows) = json else { return [] }
        return rows.compactMap { $0["connector_mode"]?.stringValue }
    }

    @Test func theCatalogAndConnectorsSayFileSystem() async throws {
        try await CRUDWorld.run { world in
            let catalog = try await world.call(.get, "/supported_connectors/", token: world.owner)
            #expect(Set(Self.modes(catalog.json)) == ["FILE_SYSTEM", "DATABASE"])
            for spelling in ["FILE_SYSTEM", "FILESYSTEM"] {
                let filtered = try await world.call(.get, "/supported_connectors/?connector_mode=\(spelling)", token: world.owner)
                #expect(Self.modes(filtered.json) == ["FILE_SYSTEM", "FILE_SYSTEM", "FILE_SYSTEM", "FILE_SYSTEM"])
            }

            let metadata: JSONValue = ["endpoint_url": "http://127.0.0.1:1", "region_name": "us-east-1", "key": "k", "secret": "s"]
            let created = try await world.call(
                .post, "/connector/", token: world.owner,
                body: ["connector_id": .string(Self.s3), "connector_name": "files", "connector_metadata": metadata])
            #expect(created.status == 201)
            #expect(created.json["connector_mode"] == "FILE_SYSTEM")
            // A row an earlier build stored with the old spelling.
            _ = try await world.temporary.store.createConnector(
                NewConnector(name: "legacy", typeID: Self.s3, mode: "FILESYSTEM", metadata: metadata, sharedUsers: [], sharedToOrg: false),
                organization: "default", by: world.temporary.admin.id)
            for spelling in ["FILE_SYSTEM", "FILESYSTEM"] {
                let listed = try await world.call(.get, "/connector/?connector_mode=\(spelling)", token: world.owner)
                #expect(Self.modes(listed.json) == ["FILE_SYSTEM", "FILE_SYSTEM"], "\(listed.text)")
            }
            let databases = try await world.call(.get, "/connector/?connector_mode=DATABASE", token: world.owner)
            #expect(Self.modes(databases.json).isEmpty)
        }
    }
}
