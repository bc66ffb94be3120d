import ConnectorCore
import ConnectorStore
import Foundation
import Glibc
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ProbeEngine
import TestSupport
import Testing

@testable import ConnectorAPI

/// A TCP listener on 127.0.0.1 that never accepts: a connection completes (the kernel queues
/// it) and then hears nothing, so a probe of it waits until its deadline or its cancellation.
final class SilentListener: Sendable {
    let descriptor: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound =
            fd >= 0
            && withUnsafeMutablePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                    bind(fd, socketAddress, length) == 0 && listen(fd, 64) == 0 && getsockname(fd, socketAddress, &length) == 0
                }
            }
        guard bound else {
            if fd >= 0 { close(fd) }
            throw POSIXError(.EADDRNOTAVAIL)
        }
        descriptor = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(descriptor) }
}

/// Batch health jobs and health history through the API (issue 10), with probes that fail
/// fast (a closed port) or hang (a listener that never answers).
@Suite struct HealthRoutesTests {
    static func closed(_ name: String, on world: CRUDWorld) async throws -> String {
        try await world.create(name, metadata: CRUDWorld.metadata(host: "127.0.0.1", password: "pw-\(name)").merging(port: 1))
    }

    @Test func aJobChecksEveryVisibleConnectorAndRecordsTheHistory() async throws {
        try await CRUDWorld.run { world in
            let ids = [try await Self.closed("a", on: world), try await Self.closed("b", on: world), try await Self.closed("c", on: world)]
            // Not the caller's to see: not in the job.
            let bobs = try await world.temporary.store.createConnector(
                NewConnector(name: "bobs", typeID: CRUDWorld.postgres, mode: "DATABASE", metadata: CRUDWorld.metadata()),
                organization: "default", by: world.sharedUser.0.id)

            let started = try await world.call(.post, "/health_checks/", token: world.owner, body: [:])
            #expect(started.status == 202)
            #expect(started.json["total"] == 3)
            let job = try #require(started.json["job_id"]?.stringValue)

            // The stream ends when the job does: one line per connector.
            let stream = try await world.call(.get, "/health_checks/\(job)/stream", token: world.owner)
            #expect(stream.headers[.contentType] == "application/x-ndjson")
            let streamed = try stream.text.split(separator: "\n").map { try JSONValue.parse(Array($0.utf8)) }
            #expect(Set(streamed.compactMap { $0["id"]?.stringValue }) == Set(ids))
            #expect(streamed.allSatisfy { $0["code"] == "connection_refused" && $0["is_valid"] == false && $0["status"] == 500 })
            #expect(!streamed.contains { $0["id"]?.stringValue == bobs.id.uuidString.lowercased() })

            let status = try await world.call(.get, "/health_checks/\(job)/", token: world.owner)
            #expect(status.status == 200)
            #expect(status.json["status"] == "done")
            #expect(status.json["done"] == 3 && status.json["valid"] == 0)
            #expect(status.json["counts"] == ["connection_refused": 3])
            #expect(!status.text.contains("pw-a"))

            // Each connector now shows its last health, and its history has the job's check.
            let one = try await world.call(.get, "/connector/\(ids[0])/", token: world.owner)
            #expect(one.json["last_health"]?["code"] == "connection_refused")
            #expect(one.json["last_health"]?["is_valid"] == false)
            #expect(one.json["last_health"]?["stage"] == "connect")
            _ = try await world.call(.post, "/connector/\(ids[0])/test/", token: world.owner)
            let history = try await world.call(.get, "/connector/\(ids[0])/health/?page_size=1", token: world.owner)
            #expect(history.status == 200)
            #expect(history.json["count"] == 2)
            #expect(history.json["next"] != .null)
            let newest = try #require(history.json["results"]?[0])
            #expect(newest["triggered_by"]?["kind"] == "test")
            #expect(newest["stages"]?["connect"]?["ok"] == false)
            let older = try await world.call(.get, "/connector/\(ids[0])/health/?page=2&page_size=1", token: world.owner)
            #expect(older.json["results"]?[0]?["triggered_by"]?["job_id"]?.stringValue == job)
        }
    }

    /// Who may read or cancel a job is in ``PermissionMatrixTests``; here, the requests refused
    /// as a whole.
    @Test func aJobOfAnUnseenConnectorOrAMalformedIdIsNotFound() async throws {
        try await CRUDWorld.run { world in
            let id = try await Self.closed("mine", on: world)
            #expect(try await world.call(.get, "/health_checks/not-a-uuid/", token: world.owner).status == 404)
            // A connector the caller cannot see fails the whole request.
            let bobs = try await world.temporary.store.createConnector(
                NewConnector(name: "bobs", typeID: CRUDWorld.postgres, mode: "DATABASE", metadata: CRUDWorld.metadata()),
                organization: "default", by: world.sharedUser.0.id)
            let hidden = try await world.call(
                .post, "/health_checks/", token: world.owner, body: ["connector_ids": [.string(id), .string(bobs.id.uuidString)]])
            #expect(hidden.status == 404)
            #expect(try await world.call(.get, "/connector/\(bobs.id.uuidString)/health/", token: world.owner).status == 404)
        }
    }

    @Test(
        arguments: [
            (["connector_ids": "all"], "connector_ids"), (["connector_ids": ["x"]], "connector_ids"), (["concurrency": 0], "concurrency"),
            (["concurrency": .number(1.5)], "concurrency"), (["timeout": -1], "timeout"), (["timeout": "5"], "timeout"), (["extra": 1], "extra"),
        ] as [(JSONValue, String)])
    func aBadJobRequestNamesTheField(_ body: JSONValue, _ attr: String) async throws {
        try await CRUDWorld.run { world in
            let refused = try await world.call(.post, "/health_checks/", token: world.owner, body: body)
            #expect(refused.status == 400)
            #expect(refused.firstError?["attr"]?.stringValue == attr)
        }
    }

    @Test func cancellingAJobClosesTheProbesInFlight() async throws {
        let silent = try SilentListener()
        try await CRUDWorld.run { world in
            var ids: [JSONValue] = []
            for name in ["slow1", "slow2", "slow3"] {
                let metadata = CRUDWorld.metadata(host: "127.0.0.1", password: "pw-\(name)").merging(port: silent.port)
                ids.append(.string(try await world.create(name, metadata: metadata)))
            }
            let started = try await world.call(
                .post, "/health_checks/", token: world.owner, body: ["connector_ids": .array(ids), "timeout": 60, "concurrency": 2])
            let job = try #require(started.json["job_id"]?.stringValue)
            #expect(try await world.call(.delete, "/health_checks/\(job)/", token: world.owner).status == 204)
            let status = try await world.call(.get, "/health_checks/\(job)/", token: world.owner)
            #expect(status.json["status"] == "cancelled")
            #expect(status.json["done"] == 0)
            // The probes that were waiting on the silent server are closed, not left to their deadline.
            await world.engine.waitUntilIdle()
            #expect(world.engine.probesInFlight == 0)
            let history = try await world.call(.get, "/connector/\(ids[0].stringValue!)/health/", token: world.owner)
            #expect(history.json["count"] == 0)
            #expect(try await world.call(.delete, "/health_checks/\(job)/", token: world.owner).status == 204)

            // At most four running jobs per user: a fifth is a 429 until one ends.
            var running: [String] = []
            for _ in 0..<4 {
                let next = try await world.call(
                    .post, "/health_checks/", token: world.owner, body: ["connector_ids": .array(ids), "timeout": 60, "concurrency": 1])
                #expect(next.status == 202)
                running.append(try #require(next.json["job_id"]?.stringValue))
            }
            let refused = try await world.call(.post, "/health_checks/", token: world.owner, body: ["connector_ids": .array(ids)])
            #expect(refused.status == 429 && refused.json["errors"]?[0]?["code"] == "throttled")
            #expect(try await world.call(.delete, "/health_checks/\(running[0])/", token: world.owner).status == 204)
            let again = try await world.call(.post, "/health_checks/", token: world.owner, body: ["connector_ids": .array(ids), "timeout": 60])
            #expect(again.status == 202)
            running.append(try #require(again.json["job_id"]?.stringValue))
            for id in running { _ = try await world.call(.delete, "/health_checks/\(id)/", token: world.owner) }
            await world.engine.waitUntilIdle()
        }
    }
}

extension JSONValue {
    /// These connection settings with another port.
    func merging(port: Int) -> JSONValue {
        guard case .object(var members) = self else { return self }
        members["port"] = .string(String(port))
        return .object(members)
    }
}
