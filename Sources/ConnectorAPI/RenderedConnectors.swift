import ConnectorCore
import ConnectorStore
import Foundation
import Synchronization

/// The JSON of connectors as last rendered, keyed by everything the rendering depends on, so a
/// hot connector is masked and serialized once rather than on every read. Every change of a
/// connector's metadata, name or sharing moves its `modified_at` or its share list, and every
/// check its last health, so a stale entry is never served; bounded by dropping everything when full.
final class RenderedConnectors: Sendable {
    private struct Key: Hashable {
        let id: UUID
        let modifiedAt: Date
        let name: String
        let sharedUsers: [Int64]
        let sharedToOrg: Bool
        let isOwner: Bool
        let lastHealth: LastHealth?
    }

    private let limit: Int
    private let entries = Mutex<[Key: [UInt8]]>([:])

    init(limit: Int = 20_000) { self.limit = limit }

    /// The wire JSON of `connector` for `caller`.
    func json(_ connector: StoredConnector, catalog: Catalog, caller: Caller) -> [UInt8] {
        let key = Key(
            id: connector.id, modifiedAt: connector.modifiedAt, name: connector.name, sharedUsers: connector.sharedUsers,
            sharedToOrg: connector.sharedToOrg, isOwner: connector.isOwned(by: caller.userID), lastHealth: connector.lastHealth)
        if let cached = entries.withLock({ $0[key] }) { return cached }
        let bytes = ConnectorRepresentation.json(connector, catalog: catalog, caller: caller).serialized()
        entries.withLock { entries in
            if entries.count >= limit { entries.removeAll(keepingCapacity: true) }
            entries[key] = bytes
        }
        return bytes
    }

    /// A JSON array of connectors.
    func array(_ connectors: [StoredConnector], catalog: Catalog, caller: Caller) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "[")]
        for (index, connector) in connectors.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: json(connector, catalog: catalog, caller: caller))
        }
        out.append(UInt8(ascii: "]"))
        return out
    }
}
