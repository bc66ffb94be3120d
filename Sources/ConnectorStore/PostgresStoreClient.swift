import Logging
import PostgresNIO
import Synchronization

/// The store did not answer: it refused connections, or none was free within the store timeout.
/// The API answers 503 `store_unavailable` with `Retry-After`.
public struct StoreUnavailable: Error, CustomStringConvertible {
    public let description: String
}

/// The store's PostgreSQL client, kept usable through an outage:
/// - a request waits at most `timeout` for a connection, then fails with ``StoreUnavailable``;
/// - one log line when the store stops answering, one when it is back (not one per request);
/// - while it is down, the next request tries a fresh client (one attempt at a time, shared by
///   every request that arrives meanwhile), and on success that client replaces the old one, so
///   no reconnection backoff left over from the outage delays the first request after it.
///
/// Each client runs in a child task of the database's scope (``run()``) until it is replaced.
final class PostgresStoreClient: Sendable {
    private struct Running {
        var client: PostgresClient
        var retire: AsyncStream<Void>.Continuation
    }

    private struct Health {
        var down = false
        var attempting = false
        var waiters: [CheckedContinuation<Bool, Never>] = []
    }

    private let configuration: PostgresClient.Configuration
    private let timeout: Duration
    private let logger: Logger
    private let backgroundLogger: Logger
    private let current: Mutex<Running>
    private let health = Mutex(Health())
    private let starts: AsyncStream<(PostgresClient, AsyncStream<Void>)>.Continuation
    private let startStream: AsyncStream<(PostgresClient, AsyncStream<Void>)>

    init(configuration: PostgresClient.Configuration, timeout: Duration, logger: Logger) {
        self.configuration = configuration
        self.timeout = timeout
        self.logger = logger
        // The pool warns when a lease races the start of its run(), as a first query may; that
        // race is harmless.
        var backgroundLogger = logger
        backgroundLogger.logLevel = .error
        self.backgroundLogger = backgroundLogger
        (startStream, starts) = AsyncStream.makeStream()
        let client = PostgresClient(configuration: configuration, backgroundLogger: backgroundLogger)
        let (retired, retire) = AsyncStream<Void>.makeStream()
        current = Mutex(Running(client: client, retire: retire))
        starts.yield((client, retired))
    }

    /// Runs every client until it is replaced or the caller's task is cancelled (the end of the
    /// database's scope).
    func run() async {
        await withDiscardingTaskGroup { group in
            for await (client, retired) in startStream {
                group.addTask {
                    await withTaskGroup(of: Void.self) { one in
                        one.addTask { await client.run() }
                        one.addTask { for await _ in retired {} }
                        _ = await one.next()
                        // Cancelling a client's run closes its connections.
                        one.cancelAll()
                    }
                }
            }
        }
    }

    /// Runs `body` on a connection, waiting at most the timeout for one.
    func withConnection<R: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> R) async throws -> R {
        if health.withLock({ $0.down }) {
            guard await recover() else { throw StoreUnavailable(description: "the store does not answer") }
        }
        let client = current.withLock { $0.client }
        do {
            return try await Self.bounded(timeout, client: client, body)
        } catch let error where Self.meansUnavailable(error) {
            // A client replaced meanwhile says nothing about the store: its requests were cut
            // when it retired.
            let wentDown = health.withLock { health in
                guard current.withLock({ $0.client === client }) else { return false }
                defer { health.down = true }
                return !health.down
            }
            if wentDown { logger.warning("store unreachable", metadata: ["error.type": "\(type(of: error))"]) }
            throw StoreUnavailable(description: "the store does not answer")
        }
    }

    /// Whether `error` says the store cannot be reached (rather than that a query failed).
    static func meansUnavailable(_ error: any Error) -> Bool {
        if error is StoreUnavailable { return true }
        guard let error = error as? PSQLError else { return false }
        // The server going down answers what is in flight with SQLSTATE 57P01 (admin shutdown),
        // 57P02 (crash) or 57P03 (not accepting connections yet); class 08 is a broken connection.
        if let state = error.serverInfo?[.sqlState], state.hasPrefix("57P") || state.hasPrefix("08") { return true }
        return [.connectionError, .serverClosedConnection, .clientClosedConnection, .poolClosed, .uncleanShutdown].contains(error.code)
    }

    /// How long a request's work on a leased connection may take before it counts as a store
    /// that stopped answering: a connection cut the wrong way may never report its end to the
    /// client library, and a request waiting for it would wait forever.
    static func answerBound(_ timeout: Duration) -> Duration { timeout * 5 }

    /// `body` on a connection of `client`; a lease not granted within `timeout` gives up, and so
    /// does work on a leased connection without an answer within ``answerBound(_:)``. The work
    /// runs in a task of its own, cancelled when the bound passes: a caller is answered then,
    /// even if the client library does not let go of the work at once.
    private static func bounded<R: Sendable>(
        _ timeout: Duration, client: PostgresClient, _ body: @escaping @Sendable (PostgresConnection) async throws -> R
    ) async throws -> R {
        let leased = Flag()
        let race = Race<R>()
        /// Answers the caller once: the first of the work and the timer to end wins.
        @Sendable func settle(_ result: Result<R, any Error>) {
            let waiting = race.state.withLock { race -> CheckedContinuation<R, any Error>? in
                guard !race.settled else { return nil }
                race.settled = true
                if let continuation = race.continuation { return continuation }
                race.result = result
                return nil
            }
            waiting?.resume(with: result)
        }
        let work = Task {
            do {
                let result = try await client.withConnection { connection in
                    leased.value.withLock { $0 = true }
                    return try await body(connection)
                }
                settle(.success(result))
            } catch {
                // No connection was handed out: the pool could not reach the store (its
                // circuit breaker, a refused or failed connect).
                let leasedOne = leased.value.withLock { $0 }
                settle(.failure(leasedOne ? error : StoreUnavailable(description: "no store connection: \(type(of: error))")))
            }
        }
        let timer = Task {
            guard (try? await Task.sleep(for: timeout)) != nil else { return }
            if !leased.value.withLock({ $0 }) {
                settle(.failure(StoreUnavailable(description: "no store connection within \(timeout)")))
                work.cancel()
                return
            }
            guard (try? await Task.sleep(for: answerBound(timeout) - timeout)) != nil else { return }
            settle(.failure(StoreUnavailable(description: "no answer from the store within \(answerBound(timeout))")))
            work.cancel()
        }
        defer { timer.cancel() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let early = race.state.withLock { race -> Result<R, any Error>? in
                    if let result = race.result { return result }
                    race.continuation = continuation
                    return nil
                }
                if let early { continuation.resume(with: early) }
            }
        } onCancel: {
            work.cancel()
        }
    }

    /// Who answers a bounded request first, and the answer if it came before anyone waited.
    private final class Race<R: Sendable>: Sendable {
        struct State {
            var settled = false
            var result: Result<R, any Error>?
            var continuation: CheckedContinuation<R, any Error>?
        }
        let state = Mutex(State())
    }

    private final class Flag: Sendable {
        let value = Mutex(false)
    }

    /// One attempt with a fresh client, shared by every caller meanwhile; true when the store
    /// answered (the fresh client then replaces the old one).
    private func recover() async -> Bool {
        let leads = health.withLock { health -> Bool in
            if health.attempting { return false }
            health.attempting = true
            return true
        }
        guard leads else {
            return await withCheckedContinuation { continuation in
                let settled = health.withLock { health -> Bool? in
                    guard health.attempting else { return !health.down }
                    health.waiters.append(continuation)
                    return nil
                }
                if let settled { continuation.resume(returning: settled) }
            }
        }
        let candidate = PostgresClient(configuration: configuration, backgroundLogger: backgroundLogger)
        let (retired, retire) = AsyncStream<Void>.makeStream()
        starts.yield((candidate, retired))
        let queryLogger = backgroundLogger
        let answered =
            (try? await Self.bounded(timeout, client: candidate) { connection in
                _ = try await connection.query("SELECT 1", logger: queryLogger)
            }) != nil
        if answered {
            let old = current.withLock { running in
                defer { running = Running(client: candidate, retire: retire) }
                return running.retire
            }
            old.finish()
            logger.notice("store reachable again")
        } else {
            retire.finish()
        }
        let waiters = health.withLock { health in
            health.attempting = false
            if answered { health.down = false }
            defer { health.waiters = [] }
            return health.waiters
        }
        for waiter in waiters { waiter.resume(returning: answered) }
        return answered
    }
}
