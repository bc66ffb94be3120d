import CloudAuth
import ConnectorCore
import Glibc
import LinuxIO
import PostgresDriver
import ProbeEngine
import ServiceLifecycle

/// The probe drivers this build provides, by connector family.
public enum ProbeDrivers {
    /// Every driver; the Google ones send their requests to `google` and share one token cache.
    public static func all(
        google: GoogleEndpoints = .google, dropbox: DropboxEndpoints = .dropbox, snowflake: SnowflakeEndpoints = .snowflake,
        postgres: PostgresPath = .automatic
    ) -> [ConnectorFamily: any ProbeDriver] {
        let googleDriver = GoogleProbeDriver(endpoints: google, tokens: TokenCache())
        return [
            .postgresql: PostgresProbeDriver(path: postgres),
            .mysql: MySQLProbeDriver(),
            .mariadb: MySQLProbeDriver(),
            .s3: S3ProbeDriver(),
            .gcs: googleDriver,
            .bigquery: googleDriver,
            .googleDrive: DriveProbeDriver(endpoints: google),
            .dropbox: DropboxProbeDriver(endpoints: dropbox),
            .snowflake: SnowflakeProbeDriver(endpoints: snowflake),
        ]
    }
}

extension ProbeEngine {
    /// An engine with every probe of this build.
    /// - Throws: ``SystemError`` if the engine's threads cannot be set up.
    public static func standard(
        configuration: EngineConfiguration = EngineConfiguration(), google: GoogleEndpoints = .google,
        dropbox: DropboxEndpoints = .dropbox, snowflake: SnowflakeEndpoints = .snowflake, postgres: PostgresPath = .automatic
    ) throws(SystemError) -> ProbeEngine {
        PostgresEnvironment.isolate()
        // A write to a socket the server reset must fail with EPIPE, not kill the process: the
        // native PostgreSQL path's TLS writes go through OpenSSL's plain write().
        signal(SIGPIPE, SIG_IGN)
        return try ProbeEngine(
            configuration: configuration,
            drivers: ProbeDrivers.all(google: google, dropbox: dropbox, snowflake: snowflake, postgres: postgres))
    }
}

extension ProbeEngine {
    /// Shuts the engine down, waits until every probe has closed what it opened (a process that
    /// exits while a reactor is still inside a driver call crashes in the C library's exit
    /// handlers), then removes the CA files its probes wrote. For a process's only engine: the
    /// trust store is shared by every engine in the process.
    public func shutdownAndRemoveFiles() async {
        shutdown()
        await waitUntilIdle()
        TrustStore.shared.removeFiles()
    }
}

/// The probe engine as a service of the server's group. Listed first, it is shut down last: once
/// the HTTP server has drained and the health checks have stopped, it refuses new probes, ends
/// those in flight, waits until every probe has closed what it opened, and removes its CA files.
///
/// With a ``ShutdownGrace``, probes still running `grace.duration` after the group began to shut
/// down are ended then (their callers answer at once: the API with 503), so that draining the
/// HTTP server is bounded by the grace rather than by the longest probe deadline.
public struct ProbeEngineService: Service {
    public let engine: ProbeEngine
    let grace: ShutdownGrace?

    public init(engine: ProbeEngine, grace: ShutdownGrace? = nil) {
        self.engine = engine
        self.grace = grace
    }

    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            if let grace {
                group.addTask { [engine] in
                    if await grace.elapsed() { engine.shutdown() }
                }
            }
            try? await gracefulShutdown()
            group.cancelAll()
        }
        await engine.shutdownAndRemoveFiles()
    }
}

/// How long tests in flight may go on once the server begins to shut down. The group tells its
/// services in reverse order and waits for each, so the engine (listed first) hears last;
/// ``starter`` (listed last) hears first and starts the clock. One grace serves one
/// ``ProbeEngineService``.
public struct ShutdownGrace: Sendable {
    public let duration: Duration
    private let begun: AsyncStream<Void>
    private let begin: AsyncStream<Void>.Continuation

    public init(_ duration: Duration) {
        self.duration = duration
        (begun, begin) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// The service that starts the grace when the group begins to shut down; list it last.
    public var starter: some Service { Starter(begin: begin) }

    /// True once `duration` has passed since the shutdown began; false when cancelled first.
    func elapsed() async -> Bool {
        for await _ in begun {
            return (try? await Task.sleep(for: duration)) != nil
        }
        return false
    }

    private struct Starter: Service {
        let begin: AsyncStream<Void>.Continuation

        func run() async {
            try? await gracefulShutdown()
            begin.yield()
        }
    }
}
