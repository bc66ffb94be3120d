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
            let metrics = try await APIClient(client: world.client).call(.get, "/metrics", token: nil)
            #expect(metrics.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
            let text = metrics.text
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

    /// What `path` answers on a server over `store`, with the OAuth cache in `redis` if given.
    static func answer(_ path: String, engine: ProbeEngine, store: ConnectorStore, redis: RedisClient?) async throws -> APIClient.Answer {
        let configuration = APIConfiguration(oauth: OAuthConfiguration(storage: redis.map { RedisOAuthStorage(client: $0) }))
        let app = Application(router: buildRouter(engine: engine, store: store, configuration: configuration))
        return try await app.test(.router) { client in try await APIClient(client: client).call(.get, path, token: nil) }
    }

    @Test func readinessNamesWhatFailsAndLivenessStaysUp() async throws {
        let engine = try CRUDWorld.closedEndpointsEngine()
        defer { engine.shutdown() }
        let redis = RedisClient(configuration: try RedisConfiguration(url: "redis://127.0.0.1:1"))
        try await TemporaryStore.with { temporary in
            let healthy = try await Self.answer("/readyz", engine: engine, store: temporary.store, redis: nil)
            #expect(healthy.status == 200 && healthy.json == ["status": "ready", "failing": []])
            // Redis holds the OAuth cache but does not answer.
            let withoutRedis = try await Self.answer("/readyz", engine: engine, store: temporary.store, redis: redis)
            #expect(withoutRedis.status == 503 && withoutRedis.headers[.retryAfter] == "5")
            #expect(withoutRedis.json["failing"] == ["redis"])
        }
        // A store whose scope has ended: its database is closed.
        let closedStore = try await TemporaryStore.with { $0.store }
        let withoutEither = try await Self.answer("/readyz", engine: engine, store: closedStore, redis: redis)
        #expect(withoutEither.json["failing"] == ["redis", "store"])
        #expect(try await Self.answer("/healthz", engine: engine, store: closedStore, redis: redis).status == 200)
        await redis.shutdown()
    }
}
