import Foundation
import Testing

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

    /// The number of file descriptors this process has open.
    static func openDescriptors() -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
    }
}
