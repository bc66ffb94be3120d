import ConnectorCore
import ConnectorStore
import HealthChecks
import Hummingbird
import Logging
import NIOCore
import OAuthFlow
import ProbeEngine
import Probes

/// The API server's settings.
public struct APIConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// The largest request body accepted; larger ones get 413.
    public var maxBodyBytes: Int
    /// Caps on tests running at once.
    public var limits: TestLimits
    /// A connection with no traffic for this long is closed.
    public var idleTimeout: Duration
    /// A request must arrive whole within this long of the server waiting for it.
    public var requestReadTimeout: Duration
    /// The server's public base URL (`https://engine.example.com`), for absolute links in
    /// responses; without it links are relative (never built from the client's Host header).
    public var publicURL: String?
    public var oauth: OAuthConfiguration
    /// How much batch checking (health jobs) runs at once.
    public var batch: BatchLimits
    /// Where `/metrics` reads from; a new registry unless given.
    public var metrics: APIMetrics?

    public init(
        host: String = "127.0.0.1", port: Int = 8080, maxBodyBytes: Int = 1 << 20, limits: TestLimits = TestLimits(),
        idleTimeout: Duration = .seconds(60), requestReadTimeout: Duration = .seconds(30), publicURL: String? = nil,
        oauth: OAuthConfiguration = OAuthConfiguration(), batch: BatchLimits = BatchLimits()
    ) {
        self.batch = batch
        self.host = host
        self.port = port
        self.maxBodyBytes = maxBodyBytes
        self.limits = limits
        self.idleTimeout = idleTimeout
        self.requestReadTimeout = requestReadTimeout
        self.publicURL = publicURL
        self.oauth = oauth
    }

    /// The base of the OAuth redirect URIs: the public URL, else the listener's own address.
    var oauthBaseURL: String { publicURL ?? "http://\(host):\(port)" }
}

/// The OAuth flow's settings (DESIGN §5).
public struct OAuthConfiguration: Sendable {
    /// The backends whose client id and secret are configured.
    public var providers: [OAuthBackend: OAuthProvider]
    /// How long an issued key and its token set live in the cache.
    public var cacheTTL: Duration
    /// A frontend's status page (`/oauth-status/`); without it the server's own page.
    public var statusURL: String?
    /// Where flows are cached (Redis); `nil`: the connector store.
    public var storage: (any OAuthCacheStorage)?
    /// PEM bundle verifying the providers' token endpoints (self-hosted or test endpoints).
    public var caFile: String?

    public init(
        providers: [OAuthBackend: OAuthProvider] = [:], cacheTTL: Duration = .seconds(3600), statusURL: String? = nil,
        storage: (any OAuthCacheStorage)? = nil, caFile: String? = nil
    ) {
        self.providers = providers
        self.cacheTTL = cacheTTL
        self.statusURL = statusURL
        self.storage = storage
        self.caFile = caFile
    }
}

/// Token endpoints reached through the engine: libcurl on a reactor, the egress policy applied.
struct EngineTokenEndpoint: OAuthTokenEndpoint {
    let engine: ProbeEngine
    let caFile: String?

    func post(url: String, form: [(String, String)], tenant: String) async -> OAuthTokenAnswer {
        switch await engine.postForm(url: url, form: form, caFile: caFile, tenant: tenant, requester: "oauth") {
        case .answered(let status, let body): .answered(status: status, body: body)
        case .failed(let report): .unreachable(code: report.code.rawValue)
        }
    }
}

/// Builds the router: our error bodies everywhere, then the routes.
/// - Parameters:
///   - admission: the counter of tests in flight; a new one from the configuration's limits
///     unless given (tests share one to observe it).
///   - health: the health checking shared with a scheduler; a new one unless given.
public func buildRouter(
    engine: ProbeEngine, store: ConnectorStore, configuration: APIConfiguration = APIConfiguration(),
    admission: TestAdmission? = nil, health: HealthRuntime? = nil
) -> Router<APIRequestContext> {
    let router = Router(context: APIRequestContext.self)
    let oauth = OAuthFlowService(
        settings: OAuthSettings(
            providers: configuration.oauth.providers, publicBaseURL: configuration.oauthBaseURL, cacheTTL: configuration.oauth.cacheTTL),
        cache: OAuthTokenCache(storage: configuration.oauth.storage ?? store, keyRing: store.keyRing),
        endpoint: EngineTokenEndpoint(engine: engine, caFile: configuration.oauth.caFile))
    let health =
        health
        ?? HealthRuntime(
            engine: engine, store: store, admission: admission ?? TestAdmission(limits: configuration.limits), batch: configuration.batch)
    let metrics = configuration.metrics ?? APIMetrics()
    engine.observeReports { type, report in metrics.record(type, report) }
    var readinessProbes: [ReadinessProbe] = []
    if let redis = configuration.oauth.storage as? RedisOAuthStorage {
        readinessProbes.append(ReadinessProbe(name: "redis") { try await redis.ping() })
    }
    // Metrics outermost, so they see the status the error bodies were answered with.
    router.add(middleware: RequestMetricsMiddleware(metrics: metrics))
    router.add(middleware: ErrorBodyMiddleware())
    ConnectorRoutes(
        engine: engine, store: store, maxBodyBytes: configuration.maxBodyBytes, publicURL: configuration.publicURL, oauth: oauth,
        oauthStatusURL: configuration.oauth.statusURL, health: health, metrics: metrics, readinessProbes: readinessProbes
    )
    .register(on: router)
    return router
}

/// Builds the HTTP application (a swift-service-lifecycle service) serving the API.
/// - Parameter onServerRunning: called once the listener is bound.
public func buildApplication(
    engine: ProbeEngine, store: ConnectorStore, configuration: APIConfiguration, health: HealthRuntime? = nil, logger: Logger,
    onServerRunning: @escaping @Sendable () -> Void = {}
) -> some ApplicationProtocol {
    let readTimeout = TimeAmount.nanoseconds(Int64(configuration.requestReadTimeout.components.seconds) * 1_000_000_000)
    return Application(
        router: buildRouter(engine: engine, store: store, configuration: configuration, health: health),
        server: .http1(
            configuration: .init(
                additionalChannelHandlers: [RequestReadTimeout(timeout: readTimeout)],
                idleTimeout: .nanoseconds(Int64(configuration.idleTimeout.components.seconds) * 1_000_000_000))),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "connector-engine"),
        onServerRunning: { _ in onServerRunning() },
        logger: logger)
}
