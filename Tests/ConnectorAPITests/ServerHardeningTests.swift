import ConnectorCore
import Dispatch
import Foundation
import Glibc
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import ProbeEngine
import TestSupport
import Testing

@testable import ConnectorAPI

/// Issue 8 §10: links never come from the Host header, and a slow sender is cut off.
@Suite struct ServerHardeningTests {
    static let base = "/api/v1/unstract/default"

    static func withApp(
        _ configuration: APIConfiguration, live: Bool = false,
        _ body: @Sendable (any TestClientProtocol, TemporaryStore) async throws -> Void
    ) async throws {
        let engine = try CRUDWorld.closedEndpointsEngine()
        defer { engine.shutdown() }
        try await TemporaryStore.with { temporary in
            let app = buildApplication(engine: engine, store: temporary.store, configuration: configuration, logger: Logger(label: "test"))
            try await app.test(live ? .live : .router) { client in try await body(client, temporary) }
        }
    }

    /// Page 2 of the connector list, asked with a forged Host header over a raw connection.
    static func page(_ client: any TestClientProtocol, token: String) async throws -> String {
        let port = try #require(client.port)
        let request =
            "GET \(base)/connector/?page=2&page_size=1 HTTP/1.1\r\nHost: attacker.example\r\n"
            + "Authorization: Bearer \(token)\r\nConnection: close\r\n\r\n"
        let answer = try #require(try await exchange(port: port, request))
        return String(answer[try #require(answer.range(of: "\r\n\r\n")).upperBound...])
    }

    static func createThree(_ client: any TestClientProtocol, token: String) async throws {
        for name in ["a", "b", "c"] {
            let body: JSONValue = [
                "connector_id": "postgresql|6db35f45-be11-4fd5-80c5-85c48183afbb", "connector_name": .string(name),
                "connector_metadata": ["host": "db.invalid", "port": "5432", "database": "d", "user": "u", "password": "p"],
            ]
            #expect(try await APIClient(client: client, base: base).call(.post, "/connector/", token: token, body: body).status == 201)
        }
    }

    @Test func pageLinksAreRelativeWithoutAPublicURL() async throws {
        try await Self.withApp(APIConfiguration(), live: true) { client, temporary in
            try await Self.createThree(client, token: temporary.adminToken)
            let text = try await Self.page(client, token: temporary.adminToken)
            let page = try JSONValue.parse(Array(text.utf8))
            #expect(page["next"]?.stringValue?.hasPrefix(Self.base + "/connector") == true, "\(text)")
            #expect(page["previous"]?.stringValue?.hasPrefix(Self.base + "/connector") == true, "\(text)")
            #expect(!text.contains("attacker.example"))
        }
    }

    @Test func pageLinksUseTheConfiguredPublicURL() async throws {
        try await Self.withApp(APIConfiguration(publicURL: "https://engine.example.com/"), live: true) { client, temporary in
            try await Self.createThree(client, token: temporary.adminToken)
            let text = try await Self.page(client, token: temporary.adminToken)
            let page = try JSONValue.parse(Array(text.utf8))
            #expect(page["next"]?.stringValue?.hasPrefix("https://engine.example.com" + Self.base) == true, "\(text)")
            #expect(!text.contains("attacker.example"))
        }
    }

    /// Sends `bytes` on a new connection and returns what the server sent until it closed (or
    /// `nil` if it was still open after 10 s). The blocking socket calls run on a Dispatch
    /// thread, never on the cooperative pool the server's handlers need.
    static func exchange(port: Int, _ bytes: String) async throws -> String? {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try blockingExchange(port: port, bytes) }) }
        }
    }

    private static func blockingExchange(port: Int, _ bytes: String) throws -> String? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        try #require(connected == 0)
        var limit = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        _ = bytes.withCString { send(fd, $0, strlen($0), 0) }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count == 0 { return String(decoding: received, as: UTF8.self) }
            if count < 0 { return nil }
            received += buffer[0..<count]
        }
    }

    @Test func aRequestThatNeverArrivesWholeIsCutOff() async throws {
        try await Self.withApp(APIConfiguration(requestReadTimeout: .seconds(1)), live: true) { client, _ in
            let port = try #require(client.port)
            // A head that never ends: the server closes the connection without an answer.
            let partial = try await Self.exchange(port: port, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            #expect(partial == "")
            // A whole request is answered (and the connection closed as asked).
            let whole = try await Self.exchange(port: port, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            #expect(whole?.hasPrefix("HTTP/1.1 200") == true)
        }
    }
}
