import ConnectorCore
import ConnectorStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import OAuthFlow
import ProbeEngine
import RedisClient
import TestSupport
import Testing

@testable import ConnectorAPI

/// `/metrics` and `/readyz` (issue 10, operations).
@Suite struct ObservabilityTests {
    static let base = "/api/v1/unstract/default"
    static let postgres = "postgresql|6db35f45-be11-4fd5-80c5-85c48183afbb"

    @Test func metricsCountProbesAndRequestsWithoutIdsHostsOrSecrets() async throws {
        try await CRUDWorld.run { world in
            let canary = "pw-metrics-canary"
            let body: JSONValue = [
                "connector_id": .string(Self.postgres),
                "connector_metadata": ["host": "127.0.0.1", "port": "1", "database": "d", "user": "u", "password": .string(canary)],
            ]
            let tested = try await world.call(.post, "/test_connectors/", token: world.owner, body: body)
            #expect(tested.status == 500)
            let unknown = try await world.call(
                .post, "/test_connectors/", token: world.owner, body: ["connector_id": "made-up|1", "connector_metadata": [:]])
            #expect(unknown.status == 400)
            let text = try await world.client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
                return String(buffer: response.body)
            }
            #expect(text.contains(#"connector_probes_total{family="postgresql",code="connection_refused"} 1"#), "\(text)")
            #expect(text.contains(#"connector_probes_total{family="unknown",code="unknown_connector"} 1"#))
            #expect(text.contains(#"connector_probe_stage_duration_seconds_count{family="postgresql",stage="connect"} 1"#))
            #expect(text.contains(#"http_requests_total{route="/api/v1/unstract/{org_id}/test_connectors",method="POST",status="500"} 1"#))
            #expect(text.contains("connector_probes_in_flight 0"))
            #expect(text.contains("connector_health_jobs_running 0"))
            // Labels hold templates and codes only: no organization, host, connector id or secret.
            for leak in [canary, "127.0.0.1", "/unstract/default", "made-up", world.owner] {
                #expect(!text.contains(leak), "\(leak) in /metrics")
            }
        }
    }

    @Test func readinessNamesWhatFailsAndLivenessStaysUp() async throws {
        let engine = try CRUDWorld.closedEndpointsEngine()
        defer { engine.shutdown() }
        let redis = RedisClient(configuration: try RedisConfiguration(url: "redis://127.0.0.1:1"))
        try await TemporaryStore.with { temporary in
            let healthy = Application(router: buildRouter(engine: engine, store: temporary.store))
            try await healthy.test(.router) { client in
                try await client.execute(uri: "/readyz", method: .get) { response in
                    #expect(response.status == .ok)
                    let answer = try JSONValue.parse(Array(response.body.readableBytesView))
                    #expect(answer == ["status": "ready", "failing": []])
                }
            }
            // Redis holds the OAuth cache but does not answer.
            let configuration = APIConfiguration(oauth: OAuthConfiguration(storage: RedisOAuthStorage(client: redis)))
            let withRedis = Application(router: buildRouter(engine: engine, store: temporary.store, configuration: configuration))
            try await withRedis.test(.router) { client in
                try await client.execute(uri: "/readyz", method: .get) { response in
                    #expect(response.status == .serviceUnavailable)
                    #expect(response.headers[.retryAfter] == "5")
                    let answer = try JSONValue.parse(Array(response.body.readableBytesView))
                    #expect(answer["failing"] == ["redis"])
                }
            }
        }
        // A store whose scope has ended: its database is closed.
        let closedStore = try await TemporaryStore.with { $0.store }
        let configuration = APIConfiguration(oauth: OAuthConfiguration(storage: RedisOAuthStorage(client: redis)))
        let withoutStore = Application(router: buildRouter(engine: engine, store: closedStore, configuration: configuration))
        try await withoutStore.test(.router) { client in
            try await client.execute(uri: "/readyz", method: .get) { response in
                let answer = try JSONValue.parse(Array(response.body.readableBytesView))
                #expect(answer["failing"] == ["redis", "store"])
            }
            try await client.execute(uri: "/healthz", method: .get) { response in #expect(response.status == .ok) }
        }
        await redis.shutdown()
    }
}
