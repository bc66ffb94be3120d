import Foundation
import ProbeEngine
import Probes
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

    /// The Google endpoints of the local fake Google (scripts/fake_google.py).
    static var googleEndpoints: GoogleEndpoints {
        let api = environment["CE_GOOGLE_API_URL"] ?? "http://127.0.0.1:1"
        let client = environment["CE_GOOGLE_OAUTH_CLIENT_ID"].map { (id: $0, secret: environment["CE_GOOGLE_OAUTH_CLIENT_SECRET"] ?? "") }
        return GoogleEndpoints(
            tokenURL: environment["CE_GOOGLE_TOKEN_URL"] ?? api + "/token", storageURL: api, bigQueryURL: api, driveURL: api,
            oauthClient: client)
    }

    /// The engine options that point the CLI at the fake Google.
    static var googleArguments: [String] {
        let endpoints = googleEndpoints
        return [
            "--google-token-url", endpoints.tokenURL, "--google-storage-url", endpoints.storageURL, "--google-bigquery-url",
            endpoints.bigQueryURL, "--google-drive-url", endpoints.driveURL,
        ] + (endpoints.oauthClient.map { ["--google-oauth-client-id", $0.id] } ?? [])
            + ["--dropbox-url", environment["CE_DROPBOX_URL"] ?? "http://127.0.0.1:1"]
            + ["--snowflake-url", environment["CE_SNOWFLAKE_URL"] ?? "http://127.0.0.1:1"]
    }

    /// An engine with every probe, its Google and Dropbox probes aimed at the fakes (with the
    /// platforms' OAuth clients, which refresh the tokens of a sign-in).
    static func engine(postgres: PostgresPath = .automatic) throws -> ProbeEngine {
        let dropboxApp = environment["CE_DROPBOX_APP_KEY"].map { (id: $0, secret: environment["CE_DROPBOX_APP_SECRET"] ?? "") }
        return try ProbeEngine.standard(
            google: googleEndpoints,
            dropbox: DropboxEndpoints(apiURL: environment["CE_DROPBOX_URL"] ?? "http://127.0.0.1:1", oauthClient: dropboxApp),
            snowflake: SnowflakeEndpoints(baseURLOverride: environment["CE_SNOWFLAKE_URL"] ?? "http://127.0.0.1:1"), postgres: postgres)
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
