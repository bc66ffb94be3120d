import ConnectorAPI
import ConnectorCore
import FixtureRunner
import Foundation
import Hummingbird
import HummingbirdTesting
import ProbeEngine
import Probes
import TestSupport
import Testing

extension LiveServiceTests {
    /// The fixtures through a real HTTP server, as `fixtures run --api URL` runs them (token from $CONNECTOR_ENGINE_TOKEN).
    @Suite struct APIFixtureTests {
        @Test func fixturesPassThroughTheLiveAPI() async throws {
            _ = try LiveServices.value("CE_PG_PORT")
            let cases = try FixtureLoader.load(directory: LiveServices.fixturesDirectory, environment: LiveServices.environment)
            let engine = try LiveServices.engine()
            defer { engine.shutdown() }
            try await TemporaryStore.with { temporary in
                let token = temporary.adminToken
                let router = buildRouter(engine: engine, store: temporary.store)
                let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
                try await app.test(.live) { client in
                    let port = try #require(client.port)
                    let executor = APIExecutor(baseURL: URL(string: "http://127.0.0.1:\(port)")!, token: token)
                    let results = await FixtureRun.run(cases, executor: executor, concurrency: 16)
                    #expect(results.count == cases.count)
                    for result in results where !result.passed {
                        Issue.record("\(result.fixture.name): \(result.mismatches.joined(separator: "; ")) [\(result.report.detail)]")
                    }
                    // A wrong token is not a verdict, and says so.
                    let refused = await APIExecutor(baseURL: URL(string: "http://127.0.0.1:\(port)")!, token: "wrong")
                        .test(ProbeRequest(connectorID: cases[0].connectorID, metadata: cases[0].metadata))
                    #expect(refused.code == .protocolError)
                    #expect(refused.detail.contains("401"))
                }
            }
        }
    }
}
