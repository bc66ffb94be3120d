import ConnectorCore
import HTTPTypes
import HealthChecks
import Hummingbird
import Metrics
import ProbeEngine
import Prometheus

/// The server's metrics (`GET /metrics`, Prometheus text format), kept through swift-metrics
/// with the Prometheus backend. Labels are bounded and carry no secret, host, user or
/// organization: connector family (`unknown` outside the catalog), outcome code, stage, route
/// template, method and status.
public final class APIMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        var factory = PrometheusMetricsFactory(registry: registry)
        // From a refused port (under a millisecond) to the longest deadline (60 s).
        factory.defaultDurationHistogramBuckets = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60].map {
            Duration.nanoseconds(Int64($0 * 1e9))
        }
        self.factory = factory
    }

    /// Counts a verdict: by family and code, its duration and each stage's, and a token refresh.
    func record(_ type: ConnectorType?, _ report: ProbeReport) {
        let family = type?.family.rawValue ?? "unknown"
        Counter(label: "connector_probes_total", dimensions: [("family", family), ("code", report.code.rawValue)], factory: factory)
            .increment()
        Timer(label: "connector_probe_duration_seconds", dimensions: [("family", family)], factory: factory)
            .recordNanoseconds(Int64(report.elapsedMilliseconds * 1_000_000))
        for timing in report.stages {
            Timer(
                label: "connector_probe_stage_duration_seconds", dimensions: [("family", family), ("stage", timing.stage.rawValue)], factory: factory
            )
            .recordNanoseconds(Int64(timing.milliseconds * 1_000_000))
        }
        if report.refreshedTokens != nil {
            Counter(label: "connector_oauth_refreshes_total", dimensions: [("family", family)], factory: factory).increment()
        }
    }

    /// Counts an answered request by its route template (`/api/v1/unstract/{org_id}/connector/{id}`).
    func request(route: String, method: HTTPRequest.Method, status: HTTPResponse.Status, nanoseconds: Int64) {
        let dimensions = [("route", route), ("method", method.rawValue)]
        Counter(label: "http_requests_total", dimensions: dimensions + [("status", String(status.code))], factory: factory).increment()
        Timer(label: "http_request_duration_seconds", dimensions: dimensions, factory: factory).recordNanoseconds(nanoseconds)
    }

    /// Counts a health job started through the API.
    func jobStarted() {
        Counter(label: "connector_health_jobs_started_total", factory: factory).increment()
    }

    /// The text exposition, with the gauges read now: probes in flight, health jobs running,
    /// batch checks in flight.
    func exposition(engine: ProbeEngine, health: HealthRuntime) -> [UInt8] {
        Gauge(label: "connector_probes_in_flight", factory: factory).record(engine.probesInFlight)
        Gauge(label: "connector_health_jobs_running", factory: factory).record(health.jobs.running.count)
        Gauge(label: "connector_health_checks_in_flight", factory: factory).record(health.dispatcher.inFlight)
        return registry.emitToBuffer()
    }
}

/// Records every request in ``APIMetrics`` under the route it matched (its template, never the
/// path, which holds organization and connector ids), with the status it was answered.
struct RequestMetricsMiddleware: RouterMiddleware {
    typealias Context = APIRequestContext
    let metrics: APIMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        func record(_ status: HTTPResponse.Status) {
            let elapsed = ContinuousClock.now - start
            let nanoseconds = elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000
            metrics.request(route: Self.template(context.endpointPath), method: request.method, status: status, nanoseconds: nanoseconds)
        }
        do {
            let response = try await next(request, context)
            record(response.status)
            return response
        } catch let error as any HTTPResponseError {
            record(error.status)
            throw error
        } catch {
            record(.internalServerError)
            throw error
        }
    }

    /// `/api/v1/unstract/:org_id/connector/:id` → `/api/v1/unstract/{org_id}/connector/{id}`;
    /// `unmatched` for a request no route took.
    static func template(_ endpoint: String?) -> String {
        guard let endpoint else { return "unmatched" }
        return endpoint.split(separator: "/", omittingEmptySubsequences: false).map { part in
            part.hasPrefix(":") ? "{\(part.dropFirst())}" : String(part)
        }.joined(separator: "/")
    }
}
