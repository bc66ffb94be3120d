import Foundation
import Testing

/// Every live-service test, one at a time: they share the servers and check process-wide
/// counts of open connections.
@Suite(.serialized) struct LiveServiceTests {}

/// The variables `scripts/services.sh env` prints; `make test` exports them.
enum LiveServices {
    static let environment = ProcessInfo.processInfo.environment

    /// The value of a service variable; the test fails (not skips) without it, since these tests
    /// exist to run against the live services.
    static func value(_ name: String) throws -> String {
        try #require(environment[name], "\(name) is not set: run the tests with `make test`, which starts scripts/services.sh")
    }

    /// The repository's Fixtures/connectors directory.
    static var fixturesDirectory: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/connectors").path
    }

    /// The number of sockets this process has open.
    static func openSockets() -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return names.filter { name in
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(name)"))?.hasPrefix("socket:") == true
        }.count
    }
}
