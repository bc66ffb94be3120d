import ArgumentParser
import ConnectorAPI
import ConnectorStore
import Foundation
import HealthChecks
import Hummingbird
import Logging
import OAuthFlow
import ProbeEngine
import Probes
import RedisClient
import ServiceLifecycle
import UnixSignals

/// `connector-engine serve`: the HTTP API over the store.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve the HTTP API.")

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on.")
    var port = 8080

    @Option(help: "Organization id created on first start of an empty store.")
    var bootstrapOrganization = "default"

    @Option(help: "Email of the admin user created on first start of an empty store.")
    var bootstrapEmail = "admin@localhost"

    @Option(help: "URL that receives a POST for every share notification (outbox, retried with backoff).")
    var notificationWebhook: String?

    @Option(
        help:
            "Seconds (0...\(Self.maxReadCacheSeconds)) a valid token check or a connector read is reused; a change by another process (admin CLI, another replica) takes effect within this time (0: read every request)."
    )
    var readCacheSeconds = 2

    @Option(
        help:
            "Seconds (1...60) a request waits for a PostgreSQL store connection; past it, or when the store refuses, the answer is 503 store_unavailable."
    )
    var storeTimeout = 3

    @Option(
        help:
            "Seconds (0...300) tests in flight may go on after SIGTERM or SIGINT: the listener stops taking new requests first, and a test still running when this ends is answered 503 shutting_down."
    )
    var shutdownGrace = 10

    @Option(help: "The server's public base URL (e.g. https://engine.example.com) for absolute links; without it links are relative.")
    var publicURL: String?

    @Option(help: "Seconds a request may take to arrive whole (slow senders are cut off).")
    var requestReadTimeout = 30

    @Option(help: "Seconds a connection may stay idle before it is closed.")
    var idleTimeout = 60

    @Option(help: "Seconds an OAuth cache key and the tokens of its sign-in stay usable (60...86400).")
    var oauthCacheTTL = 3600

    @Option(help: "A frontend's OAuth status page (e.g. https://app.example.com/oauth-status/); without it the server's own page.")
    var oauthStatusURL: String?

    @Option(help: "PEM bundle that verifies a rediss:// REDIS_URL (default: the system's CAs).")
    var redisCAFile: String?

    /// How log lines are written.
    enum LogFormat: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    @Option(help: "Log lines as text or as one JSON object per line (text, json).")
    var logFormat: LogFormat = .text

    @Option(help: "Credential tests one user may run at once (1...4096); past it a test is answered 429, a health job waits.")
    var testsPerUser = TestLimits().perUser

    @Option(help: "Credential tests one organization may run at once (1...16384), as --tests-per-user.")
    var testsPerOrg = TestLimits().perOrganization

    @Option(help: "Days the health history of each connector is kept (1...3650); older checks are pruned in the background.")
    var healthRetentionDays = 30

    @Option(help: "Batch checks (health jobs and the scheduler) at once in this replica (1...4096).")
    var healthConcurrency = 64

    @Option(help: "Batch checks at once against one destination: host and port, S3 endpoint, Snowflake account (1...1024).")
    var healthPerHost = 4

    @Option(
        help:
            "Check every stored connector once per this interval (e.g. 6h, 30m, 1d; at least 1m), shared with the other replicas of the store; off unless given."
    )
    var healthInterval: String?

    /// A revoked token or a removed share may stay usable on other replicas this long at most.
    static let maxReadCacheSeconds = 5

    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var engineOptions: EngineOptions

    func validate() throws {
        guard (0...Self.maxReadCacheSeconds).contains(readCacheSeconds) else {
            throw ValidationError("--read-cache-seconds must be 0...\(Self.maxReadCacheSeconds)")
        }
        guard (1...60).contains(storeTimeout) else { throw ValidationError("--store-timeout must be 1...60") }
        guard (0...300).contains(shutdownGrace) else { throw ValidationError("--shutdown-grace must be 0...300") }
        if let publicURL {
            guard let url = URL(string: publicURL), ["http", "https"].contains(url.scheme ?? ""), url.host != nil, url.query == nil else {
                throw ValidationError("--public-url must be an http(s) URL without a query")
            }
        }
        guard (60...86_400).contains(oauthCacheTTL) else { throw ValidationError("--oauth-cache-ttl must be 60...86400 seconds") }
        if let oauthStatusURL {
            guard let url = URL(string: oauthStatusURL), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
                throw ValidationError("--oauth-status-url must be an http(s) URL")
            }
        }
        guard (1...4096).contains(testsPerUser), (1...16_384).contains(testsPerOrg) else {
            throw ValidationError("--tests-per-user must be 1...4096 and --tests-per-org 1...16384")
        }
        guard (1...3650).contains(healthRetentionDays) else { throw ValidationError("--health-retention-days must be 1...3650") }
        guard (1...4096).contains(healthConcurrency), (1...1024).contains(healthPerHost) else {
            throw ValidationError("--health-concurrency must be 1...4096 and --health-per-host 1...1024")
        }
        if let healthInterval {
            guard let seconds = Self.seconds(healthInterval), seconds >= 60 else {
                throw ValidationError("--health-interval must be a duration of at least 1m, such as 90s, 30m, 6h or 1d")
            }
        }
        guard (1...3600).contains(requestReadTimeout), (1...3600).contains(idleTimeout) else {
            throw ValidationError("--request-read-timeout and --idle-timeout must be 1...3600 seconds")
        }
    }

    func run() async throws {
        // An installation without the document fails here, not at the first request for it.
        if case .failure(let missing) = OpenAPIDocument.bytes { throw ValidationError(missing.description) }
        let level = Logger.Level(rawValue: ProcessInfo.processInfo.environment["LOG_LEVEL"] ?? "") ?? .info
        LoggingSystem.bootstrap { [logFormat] label -> any LogHandler in
            switch logFormat {
            case .json:
                return JSONLogHandler(label: label, level: level)
            case .text:
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        }
        let logger = Logger(label: "connector-engine")
        var webhook: URL?
        if let notificationWebhook {
            guard let url = URL(string: notificationWebhook), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
                throw ValidationError("--notification-webhook must be an http(s) URL")
            }
            webhook = url
        }
        // The store is open for the whole run: its database client stops after the last service.
        try await storeOptions.withStore(
            production: engineOptions.production, logger: logger, queuesWebhooks: webhook != nil,
            readCacheTTL: .seconds(readCacheSeconds), timeout: .seconds(storeTimeout)
        ) { store in
            try await serve(on: store, webhook: webhook, logger: logger)
        }
    }

    /// Bootstraps an empty store, then runs the API and the background services until a
    /// signal stops them.
    private func serve(on store: ConnectorStore, webhook: URL?, logger: Logger) async throws {
        var firstStart: (organization: String, email: String, token: String)?
        if try await store.isEmpty() {
            let (organization, user, token) = try await store.bootstrap(organization: bootstrapOrganization, email: bootstrapEmail)
            firstStart = (organization.id, user.email, token.secret)
            // Printed at once: the store keeps only the hash, so the token must not wait for the
            // listener (which may still fail to bind).
            Console.write(Self.firstStartLines(organization: organization.id, email: user.email, token: token.secret) + "\n")
        }
        // REDIS_URL puts the OAuth cache in Redis, shared by replicas; else it is a store table.
        var redis: RedisClient?
        if let url = ProcessInfo.processInfo.environment["REDIS_URL"], !url.isEmpty {
            do {
                redis = RedisClient(configuration: try RedisConfiguration(url: url, caFile: redisCAFile))
            } catch {
                throw ValidationError("REDIS_URL: \(error.description)")
            }
        }
        let engine = try engineOptions.makeEngine()
        let configuration = APIConfiguration(
            host: host, port: port, limits: TestLimits(perUser: testsPerUser, perOrganization: testsPerOrg),
            idleTimeout: .seconds(idleTimeout), requestReadTimeout: .seconds(requestReadTimeout),
            publicURL: publicURL,
            oauth: OAuthConfiguration(
                providers: engineOptions.oauthProviders, cacheTTL: .seconds(oauthCacheTTL), statusURL: oauthStatusURL,
                storage: redis.map { RedisOAuthStorage(client: $0) }, caFile: engineOptions.googleCAFile),
            batch: BatchLimits(total: healthConcurrency, perHost: healthPerHost))
        let banner = Self.banner(
            host: host, port: port, organization: firstStart?.organization ?? bootstrapOrganization, token: firstStart?.token)
        let health = HealthRuntime(engine: engine, store: store, limits: configuration.limits, batch: configuration.batch)
        let app = buildApplication(
            engine: engine, store: store, configuration: configuration, health: health, logger: logger,
            onServerRunning: { Console.write(banner + "\n") })
        let grace = ShutdownGrace(.seconds(shutdownGrace))
        // The group starts its services in this order and stops them in the reverse one.
        var services: [any Service] = [ProbeEngineService(engine: engine, grace: grace)]
        if store.database.isReadOnly {
            logger.warning("the store is read-only: no webhook delivery, history retention or scheduled health checks")
        } else {
            if let webhook { services.append(WebhookDelivery(store: store, url: webhook, logger: logger)) }
            services.append(HealthRetention(store: store, retention: .seconds(healthRetentionDays * 86_400), logger: logger))
            if let seconds = healthInterval.flatMap(Self.seconds) {
                services.append(
                    HealthScheduler(
                        store: store, dispatcher: health.dispatcher, settings: .init(interval: .seconds(seconds)), logger: logger))
            }
        }
        // Stopped right after the grace starts: the listener takes no new request while the
        // background services finish their passes.
        services.append(app)
        // Told first when the group shuts down: starts the grace of the tests in flight.
        services.append(grace.starter)
        var groupConfiguration = ServiceGroupConfiguration(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        // A service that still hangs well past the grace is cancelled.
        groupConfiguration.maximumGracefulShutdownDuration = .seconds(shutdownGrace + 20)
        let group = ServiceGroup(configuration: groupConfiguration)
        try await group.run()
        await redis?.shutdown()
    }

    /// Seconds in a duration such as `90s`, `30m`, `6h`, `1d` (a bare number is seconds).
    static func seconds(_ text: String) -> Int? {
        let units: [Character: Int] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        guard let last = text.last else { return nil }
        let (digits, unit) = units[last].map { (text.dropLast(), $0) } ?? (Substring(text), 1)
        guard let count = Int(digits), count > 0, !count.multipliedReportingOverflow(by: unit).overflow else { return nil }
        return count * unit
    }

    /// A token is shown exactly once, when it is created; the store keeps only its hash.
    static func firstStartLines(organization: String, email: String, token: String) -> String {
        """
        First start: created organization '\(organization)' and admin user \(email).
        API token (shown only now; the store keeps only its hash):
          \(token)
        """
    }

    static func banner(host: String, port: Int, organization: String, token: String?) -> String {
        let base = "http://\(host):\(port)/api/v1/unstract/\(organization)"
        return """
            Connector Engine is listening on http://\(host):\(port)
            Tokens: `connector-engine admin token create --email EMAIL` (list and revoke there too).

            Try:
              export TOKEN=\(token ?? "<your token>")
              curl -s -H "Authorization: Bearer $TOKEN" \(base)/supported_connectors/
              curl -s -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \\
                -d '{"connector_id": "postgresql|6db35f45-be11-4fd5-80c5-85c48183afbb", "connector_name": "local", "connector_metadata": {"host": "localhost", "port": "5432", "database": "postgres", "user": "postgres", "password": "secret"}}' \\
                \(base)/connector/
              curl -s -H "Authorization: Bearer $TOKEN" \(base)/connector/
            """
    }
}
