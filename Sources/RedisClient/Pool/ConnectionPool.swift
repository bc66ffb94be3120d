import NIOConcurrencyHelpers
import NIOCore
import NIOSSL

/// Up to `poolSize` connections to one server, each lent to one command at a time.
///
/// The bookkeeping is a `PoolState` behind one lock; connecting, waiting and closing happen
/// outside it. A connection that failed is closed and forgotten, and a later command opens a
/// new one, so a restarted server is used again.
final class ConnectionPool: Sendable {
    typealias State = PoolState<RedisConnection>

    private struct Waiter: Sendable {
        var continuation: CheckedContinuation<State.Grant, any Error>
        var timer: Scheduled<Void>?
    }

    private struct Locked: Sendable {
        var state: State
        var waiters: [State.WaiterID: Waiter] = [:]
        var nextWaiter: State.WaiterID = 0
    }

    private let locked: NIOLockedValueBox<Locked>
    private let configuration: RedisConfiguration
    private let eventLoopGroup: any EventLoopGroup
    /// Made once: loading the trust roots for every connection would be wasteful.
    private let tlsContext: Result<NIOSSLContext?, RedisError>

    init(configuration: RedisConfiguration, eventLoopGroup: any EventLoopGroup) {
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.locked = NIOLockedValueBox(Locked(state: State(limit: configuration.poolSize)))
        self.tlsContext = Self.makeTLSContext(configuration)
    }

    /// Runs `body` with a connection of its own.
    ///
    /// The connection goes back to the pool when `body` returns or throws `.server` (an error
    /// reply leaves the connection in step); after any other error it is closed.
    func withConnection<Value>(_ body: (RedisConnection) async throws(RedisError) -> Value) async throws(RedisError) -> Value {
        let connection = try await lease()
        do throws(RedisError) {
            let value = try await body(connection)
            release(connection, reusable: connection.isActive)
            return value
        } catch {
            let inStep = if case .server = error { true } else { false }
            release(connection, reusable: inStep && connection.isActive)
            throw error
        }
    }

    /// Closes every connection and fails every waiting command; later commands fail at once.
    func shutdown() async {
        for connection in stop() {
            try? await connection.channel.closeFuture.get()
        }
    }

    /// `shutdown()` without waiting for the connections to finish closing.
    /// - Returns: The connections being closed.
    @discardableResult
    func stop() -> [RedisConnection] {
        let (connections, waiters) = locked.withLockedValue { locked in
            let (connections, failed) = locked.state.shutDown()
            let waiters = failed.compactMap { locked.waiters.removeValue(forKey: $0) }
            return (connections, waiters)
        }
        for waiter in waiters {
            waiter.timer?.cancel()
            waiter.continuation.resume(throwing: RedisError.unavailable("the client was shut down"))
        }
        for connection in connections { connection.close() }
        return connections
    }

    // MARK: Leasing

    private func lease() async throws(RedisError) -> RedisConnection {
        while true {
            switch try await acquire() {
            case .connection(let connection):
                if connection.isActive { return connection }
                // Closed by the server since it was last used; its close was not seen yet.
                release(connection, reusable: false)
            case .open:
                let connection: RedisConnection
                do throws(RedisError) {
                    let tlsContext = try self.tlsContext.get()
                    connection = try await RedisConnection.connect(
                        configuration: configuration, tlsContext: tlsContext, eventLoopGroup: eventLoopGroup,
                        deadline: .now() + TimeAmount(configuration.connectTimeout))
                } catch {
                    hand(locked.withLockedValue { $0.state.openFailed() })
                    throw error
                }
                guard locked.withLockedValue({ $0.state.opened(connection) }) else {
                    connection.close()
                    throw .unavailable("the client was shut down")
                }
                connection.channel.closeFuture.whenComplete { [weak self] _ in
                    guard let self else { return }
                    self.hand(self.locked.withLockedValue { $0.state.closed(connection) })
                }
                return connection
            }
        }
    }

    /// A connection or a slot to open one in, waiting at most the command timeout for either.
    private func acquire() async throws(RedisError) -> State.Grant {
        let id = locked.withLockedValue { locked in
            locked.nextWaiter += 1
            return locked.nextWaiter
        }
        do {
            return try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<State.Grant, any Error>) in
                    let action = locked.withLockedValue { locked in
                        let action = locked.state.lease(id)
                        if case .wait = action { locked.waiters[id] = Waiter(continuation: continuation) }
                        return action
                    }
                    switch action {
                    case .grant(let grant):
                        continuation.resume(returning: grant)
                    case .shutDown:
                        continuation.resume(throwing: RedisError.unavailable("the client was shut down"))
                    case .wait:
                        let timer = eventLoopGroup.any().scheduleTask(in: TimeAmount(configuration.commandTimeout)) { [weak self] in
                            guard let self else { return }
                            self.giveUp(id, reason: "no free connection within the command timeout")
                        }
                        let stillWaiting = locked.withLockedValue { locked in
                            locked.waiters[id]?.timer = timer
                            return locked.waiters[id] != nil
                        }
                        if !stillWaiting { timer.cancel() }
                        // Cancelled before the handler below could see this waiter.
                        if Task.isCancelled { giveUp(id, reason: "cancelled") }
                    }
                }
            } onCancel: {
                giveUp(id, reason: "cancelled")
            }
        } catch {
            throw error as? RedisError ?? .unavailable("cancelled")
        }
    }

    private func release(_ connection: RedisConnection, reusable: Bool) {
        let (close, handover) = locked.withLockedValue { $0.state.release(connection, reusable: reusable) }
        close?.close()
        hand(handover)
    }

    /// Lets a waiter go on with what the state machine gave it.
    private func hand(_ handover: State.Handover?) {
        guard let handover else { return }
        let waiter = locked.withLockedValue { $0.waiters.removeValue(forKey: handover.waiter) }
        waiter?.timer?.cancel()
        waiter?.continuation.resume(returning: handover.grant)
    }

    /// Fails a waiter that is still in the queue.
    private func giveUp(_ id: State.WaiterID, reason: String) {
        let waiter = locked.withLockedValue { locked in
            locked.state.removeWaiter(id) ? locked.waiters.removeValue(forKey: id) : nil
        }
        waiter?.timer?.cancel()
        waiter?.continuation.resume(throwing: RedisError.unavailable(reason))
    }

    // MARK: TLS

    private static func makeTLSContext(_ configuration: RedisConfiguration) -> Result<NIOSSLContext?, RedisError> {
        guard configuration.tls else { return .success(nil) }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .fullVerification
        if let caFile = configuration.caFile {
            tls.trustRoots = .file(caFile)
        }
        do {
            return .success(try NIOSSLContext(configuration: tls))
        } catch {
            if let caFile = configuration.caFile {
                return .failure(.unavailable("cannot load the CA file \(caFile) (\(error))"))
            }
            return .failure(.unavailable("cannot set up TLS (\(error))"))
        }
    }
}
