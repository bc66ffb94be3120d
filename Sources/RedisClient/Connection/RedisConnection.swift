import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL

/// One open connection to Redis, authenticated and on its database.
///
/// Sendable: it only holds its channel, and commands go through the channel's pipeline, whose
/// `RedisCommandHandler` orders them. The pool lends a connection to one command at a time.
final class RedisConnection: Sendable {
    let channel: any Channel
    /// Why the connection broke, as its `RedisCommandHandler` saw it (a TLS failure, say).
    private let closeReason: NIOLockedValueBox<RedisError?>

    private init(channel: any Channel, closeReason: NIOLockedValueBox<RedisError?>) {
        self.channel = channel
        self.closeReason = closeReason
    }

    /// Whether the connection is still open.
    var isActive: Bool { channel.isActive }

    /// Opens a connection and runs `AUTH` and `SELECT`, all before `deadline`.
    /// - Parameters:
    ///   - configuration: Where to connect, the credentials and the database.
    ///   - tlsContext: The TLS context for `rediss://`, `nil` for plain TCP.
    ///   - eventLoopGroup: Where the connection's channel lives.
    ///   - deadline: When the connection must be ready.
    /// - Throws: `RedisError.unavailable` when the server cannot be reached in time, `.server`
    ///   when it refuses `AUTH` or `SELECT`.
    static func connect(
        configuration: RedisConfiguration, tlsContext: NIOSSLContext?, eventLoopGroup: any EventLoopGroup,
        deadline: NIODeadline
    ) async throws(RedisError) -> RedisConnection {
        let host = configuration.host
        let serverHostname = tlsContext != nil && !isIPAddress(host) ? host : nil
        let closeReason = NIOLockedValueBox<RedisError?>(nil)
        let bootstrap = ClientBootstrap(group: eventLoopGroup)
            .connectTimeout(max(deadline - .now(), .milliseconds(1)))
            .channelOption(.socketOption(.so_keepalive), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if let tlsContext {
                        try pipeline.addHandler(NIOSSLClientHandler(context: tlsContext, serverHostname: serverHostname))
                    }
                    try pipeline.addHandler(ByteToMessageHandler(RESPDecoder()))
                    try pipeline.addHandler(MessageToByteHandler(RESPCommandEncoder()))
                    try pipeline.addHandler(RedisCommandHandler(closeReason: closeReason))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: host, port: configuration.port).get()
        } catch {
            throw RedisError(connectFailure: error, host: host, port: configuration.port)
        }
        let connection = RedisConnection(channel: channel, closeReason: closeReason)
        do throws(RedisError) {
            try await connection.handshake(configuration: configuration, deadline: deadline)
        } catch {
            connection.close()
            throw error
        }
        return connection
    }

    /// `AUTH` (ACL user and password, or password alone) and `SELECT`, as configured.
    private func handshake(configuration: RedisConfiguration, deadline: NIODeadline) async throws(RedisError) {
        let reason = "connect timed out (no answer to the TLS handshake, AUTH or SELECT)"
        if let password = configuration.password {
            let auth =
                if let user = configuration.username {
                    RESPCommand("AUTH", Array(user.utf8), Array(password.utf8))
                } else {
                    RESPCommand("AUTH", Array(password.utf8))
                }
            try Self.expectOK(try await send(auth, deadline: deadline, timeoutReason: reason), to: "AUTH")
        }
        if configuration.database != 0 {
            let select = RESPCommand("SELECT", Array(String(configuration.database).utf8))
            try Self.expectOK(try await send(select, deadline: deadline, timeoutReason: reason), to: "SELECT")
        }
    }

    private static func expectOK(_ reply: RESPValue, to command: String) throws(RedisError) {
        switch reply {
        case .simpleString("OK"): return
        case .error(let message): throw .server(code: RESPValue.errorCode(of: message))
        default: throw .protocolError("unexpected reply to \(command)")
        }
    }

    /// Sends one command and waits for its reply, which may be an error reply.
    ///
    /// When the deadline passes, or the task is cancelled, the connection is closed: a reply
    /// that came later would be taken for the next command's.
    /// - Throws: `RedisError.unavailable` on timeout, cancellation or a lost connection;
    ///   `.protocolError` for bytes that are not RESP2.
    func send(
        _ command: RESPCommand, deadline: NIODeadline, timeoutReason: String = "command timed out"
    ) async throws(RedisError)
        -> RESPValue
    {
        let promise = channel.eventLoop.makePromise(of: RESPValue.self)
        let request = RedisRequest(command: command, promise: promise, deadline: deadline, timeoutReason: timeoutReason)
        // A write that never reaches the handler (the channel already closed) fails the reply
        // too, with the reason the connection closed if the handler saw one; a promise
        // completes only once, so the handler's own failure, if it came first, wins.
        let written = channel.eventLoop.makePromise(of: Void.self)
        let closeReason = self.closeReason
        written.futureResult.whenFailure { error in
            promise.fail(closeReason.withLockedValue { $0 } ?? RedisError(connectionError: error))
        }
        channel.writeAndFlush(request, promise: written)
        let channel = self.channel
        do {
            return try await withTaskCancellationHandler {
                try await promise.futureResult.get()
            } onCancel: {
                promise.fail(RedisError.unavailable("cancelled"))
                channel.close(promise: nil)
            }
        } catch {
            throw RedisError(connectionError: error)
        }
    }

    /// Closes the connection; commands still waiting fail with `.unavailable`.
    func close() {
        channel.close(promise: nil)
    }

    private static func isIPAddress(_ host: String) -> Bool {
        (try? SocketAddress(ipAddress: host, port: 0)) != nil
    }
}

extension RedisError {
    /// Maps a failed connect to a short reason naming the server (never the credentials).
    init(connectFailure error: any Error, host: String, port: Int) {
        let server = "\(host):\(port)"
        switch error {
        case ChannelError.connectTimeout:
            self = .unavailable("connect to \(server) timed out")
        case let error as NIOConnectionError:
            if error.dnsAError != nil && error.dnsAAAAError != nil && error.connectionErrors.isEmpty {
                self = .unavailable("cannot resolve \(host)")
            } else if let first = error.connectionErrors.first?.error {
                self = .unavailable("cannot connect to \(server): \(Self.shortReason(first))")
            } else {
                self = .unavailable("cannot connect to \(server)")
            }
        default:
            self = .unavailable("cannot connect to \(server): \(Self.shortReason(error))")
        }
    }

    private static func shortReason(_ error: any Error) -> String {
        switch error {
        case let error as IOError: describe(error)
        case ChannelError.connectTimeout: "timed out"
        default: String(describing: error)
        }
    }
}
