import ConnectorCore
import Foundation
import ProbeEngine
import Probes
import Testing

extension LiveServiceTests {
    /// The cloud probes whose endpoints are engine configuration, aimed at misbehaving endpoints:
    /// a black hole and a listener that never answers time out (408) at the stage they were in, and
    /// plain HTTP where TLS is expected is a TLS failure.
    @Suite struct CloudTransportTests {
        enum Endpoint: String, CaseIterable, Sendable {
            case blackhole, silent, notTLS
        }

        static func engine(_ endpoint: Endpoint) throws -> ProbeEngine {
            let base: String
            switch endpoint {
            case .blackhole: base = "http://127.0.0.1:\(try LiveServices.value("CE_BLACKHOLE_PORT"))"
            case .silent: base = "http://127.0.0.1:\(try LiveServices.value("CE_HOLD_PORT"))"
            case .notTLS: base = "https://127.0.0.1:\(try LiveServices.value("CE_S3_PORT"))"
            }
            return try ProbeEngine.standard(
                google: GoogleEndpoints(
                    tokenURL: base + "/token", storageURL: base, bigQueryURL: base, driveURL: base, oauthClient: ("client", "secret")),
                dropbox: DropboxEndpoints(apiURL: base), snowflake: SnowflakeEndpoints(baseURLOverride: base))
        }

        static func requests() throws -> [(name: String, request: ProbeRequest, firstStage: ProbeStage)] {
            let account = try LiveServices.value("CE_GOOGLE_SA_OK_JSON")
            let timeout = Duration.seconds(1)
            return [
                (
                    "gcs",
                    ProbeRequest(
                        connectorID: "google_cloud_storage|109bbe7b-8861-45eb-8841-7244e833d97b",
                        metadata: ["json_credentials": .string(account), "project_id": "p", "bucket": "b"], timeout: timeout), .auth
                ),
                (
                    "bigquery",
                    ProbeRequest(
                        connectorID: "bigquery|79e1d681-9b8b-4f6b-b972-1a6a095312f4", metadata: ["json_credentials": .string(account)],
                        timeout: timeout), .auth
                ),
                (
                    "gdrive",
                    ProbeRequest(
                        connectorID: "gdrive|3ac4b966-9136-4261-944a-bdbfc51cd21c", metadata: ["access_token": "t", "refresh_token": "r"],
                        timeout: timeout), .request
                ),
                (
                    "dropbox",
                    ProbeRequest(
                        connectorID: "dropbox|db6bf4a6-f892-4d25-8652-2bf251946134", metadata: ["token": "t"], timeout: timeout), .request
                ),
                (
                    "snowflake",
                    ProbeRequest(
                        connectorID: "snowflake|87c5151e-5e41-420a-b1ea-772d9720929b",
                        metadata: ["account": "a", "user": "u", "password": "p", "database": "d", "schema": "s", "warehouse": "w", "role": "r"],
                        timeout: timeout), .auth
                ),
            ]
        }

        @Test(arguments: Endpoint.allCases)
        func misbehavingEndpoints(_ endpoint: Endpoint) async throws {
            let engine = try Self.engine(endpoint)
            defer { engine.shutdown() }
            for (name, request, firstStage) in try Self.requests() {
                let report = await engine.test(request)
                switch endpoint {
                case .blackhole:
                    #expect(report.code == .timeout && report.status == 408, "\(name): \(report.code)")
                    #expect(report.stage == .connect, "\(name): \(String(describing: report.stage))")
                    #expect(report.elapsedMilliseconds < 1500, "\(name) overran its deadline")
                case .silent:
                    #expect(report.code == .timeout && report.status == 408, "\(name): \(report.code)")
                    #expect(report.stage == firstStage, "\(name): \(String(describing: report.stage))")
                case .notTLS:
                    #expect(report.code == .tlsFailure, "\(name): \(report.code) \(report.signal ?? "")")
                    #expect(report.stage == .tls, "\(name): \(String(describing: report.stage))")
                }
            }
            await engine.waitUntilIdle()
            #expect(engine.probesInFlight == 0)
        }
    }
}
