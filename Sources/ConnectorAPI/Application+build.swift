import ConnectorStore
import Hummingbird
import Logging
import ProbeEngine

/// The API server's settings.
public struct APIConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// The largest request body accepted; larger ones get 413.
    public var maxBodyBytes: Int
    /// Caps on tests running at once.
    public var limits: TestLimits

    public init(host: String = "127.0.0.1", port: Int = 8080, maxBodyBytes: Int = 1 << 20, limits: TestLimits = TestLimits()) {
        self.host = host
        self.port = port
        self.maxBodyBytes = maxBodyBytes
        self.limits = limits
    }
}

/// Builds the router: our error bodies everywhere, then the routes.
/// - Parameter admission: the counter of tests in flight; a new one from the configuration's
///   limits unless given (tests share one to observe it).
public func buildRouter(
    engine: ProbeEngine, store: ConnectorStore, configuration: APIConfiguration = APIConfiguration(),
    admission: TestAdmission? = nil
) -> Router<APIRequestContext> {
    let router = Router(context: APIRequestContext.self)
    router.add(middleware: ErrorBodyMiddleware())
    ConnectorRoutes(
        engine: engine, store: store, maxBodyBytes: configuration.maxBodyBytes,
        admission: admission ?? TestAdmission(limits: configuration.limits)
    )
    .register(on: router)
    return router
}

/// Builds the HTTP application (a swift-service-lifecycle service) serving the API.
/// - Parameter onServerRunning: called once the listener is bound.
public func buildApplication(
    engine: ProbeEngine, store: ConnectorStore, configuration: APIConfiguration, logger: Logger,
    onServerRunning: @escaping @Sendable () -> Void = {}
) -> some ApplicationProtocol {
    Application(
        router: buildRouter(engine: engine, store: store, configuration: configuration),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "connector-engine"),
        onServerRunning: { _ in onServerRunning() },
        logger: logger)
}
