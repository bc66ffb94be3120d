import Hummingbird
import Logging
import ProbeEngine

/// The API server's settings.
public struct APIConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var access: AccessPolicy
    /// The largest request body accepted; larger ones get 413.
    public var maxBodyBytes: Int

    public init(host: String = "127.0.0.1", port: Int = 8080, access: AccessPolicy, maxBodyBytes: Int = 1 << 20) {
        self.host = host
        self.port = port
        self.access = access
        self.maxBodyBytes = maxBodyBytes
    }
}

/// Builds the router: our error bodies everywhere, then the routes.
public func buildRouter(engine: ProbeEngine, configuration: APIConfiguration) -> Router<BasicRequestContext> {
    let router = Router()
    router.add(middleware: ErrorBodyMiddleware())
    ConnectorRoutes(engine: engine, maxBodyBytes: configuration.maxBodyBytes)
        .register(on: router, policy: configuration.access)
    return router
}

/// Builds the HTTP application (a swift-service-lifecycle service) serving the API.
public func buildApplication(engine: ProbeEngine, configuration: APIConfiguration, logger: Logger) -> some ApplicationProtocol {
    Application(
        router: buildRouter(engine: engine, configuration: configuration),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "connector-engine"),
        logger: logger)
}
