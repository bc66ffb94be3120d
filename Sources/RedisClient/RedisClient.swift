import NIOCore
import NIOPosix

/// A small Redis client: the handful of commands the OAuth token cache needs, over a bounded
/// pool of connections.
///
/// Each command borrows a connection for itself (no pipelining), waits at most
/// `commandTimeout` for its reply, and gives the connection back. A connection that failed or
/// timed out is closed, and the next command opens a new one. A `-LOADING` reply (a restarted
/// server still reading its data) is retried a few times with a short backoff. Nothing is
/// logged; errors carry neither values nor passwords. Call `shutdown()` before dropping it.
public final class RedisClient: Sendable {
    /// Up to how many times a command is sent while the server answers `-LOADING`.
    static let loadingAttempts = 5
    /// The pause before the first retry after `-LOADING`; it doubles after each.
    static let loadingBackoff = Duration.milliseconds(100)

    private let pool: ConnectionPool
    private let configuration: RedisConfiguration

    /// A client for one server. Connections are opened on demand.
    /// - Parameters:
    ///   - configuration: The server, credentials, pool size and timeouts.
    ///   - eventLoopGroup: Where the connections live.
    public init(configuration: RedisConfiguration, eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.configuration = configuration
        self.pool = ConnectionPool(configuration: configuration, eventLoopGroup: eventLoopGroup)
    }

    deinit {
        pool.stop()
    }

    /// Checks that the server answers (`PING`).
    /// - Throws: `RedisError`.
    public func ping() async throws(RedisError) {
        let reply = try await run(RESPCommand("PING"))
        guard case .simpleString("PONG") = reply else { throw .protocolError("unexpected reply to PING") }
    }

    /// The value stored under `key`, or `nil` if there is none (`GET`).
    /// - Throws: `RedisError`; `.server(code: "WRONGTYPE")` if the key holds something else than a string.
    public func get(_ key: String) async throws(RedisError) -> [UInt8]? {
        try bulkString(try await run(RESPCommand("GET", Array(key.utf8))), from: "GET")
    }

    /// Stores `value` under `key` for `expiresIn` (`SET key value PX ms`), replacing what was there.
    /// - Parameters:
    ///   - expiresIn: How long the value lives; rounded up to whole milliseconds, at least one
    ///     (zero or less stores the value for one millisecond).
    /// - Throws: `RedisError`.
    public func set(_ key: String, _ value: [UInt8], expiresIn: Duration) async throws(RedisError) {
        let milliseconds = Self.wholeMilliseconds(expiresIn)
        let reply = try await run(RESPCommand("SET", Array(key.utf8), value, Array("PX".utf8), Array(String(milliseconds).utf8)))
        guard case .simpleString("OK") = reply else { throw .protocolError("unexpected reply to SET") }
    }

    /// Removes the value under `key` and returns it, in one step (`GETDEL`): of two callers
    /// taking the same key, only one gets the value.
    /// - Returns: The value, or `nil` if there was none.
    /// - Throws: `RedisError`.
    public func getDelete(_ key: String) async throws(RedisError) -> [UInt8]? {
        try bulkString(try await run(RESPCommand("GETDEL", Array(key.utf8))), from: "GETDEL")
    }

    /// Removes `key` (`DEL`).
    /// - Returns: Whether there was something to remove.
    /// - Throws: `RedisError`.
    @discardableResult
    public func delete(_ key: String) async throws(RedisError) -> Bool {
        try integer(try await run(RESPCommand("DEL", Array(key.utf8))), from: "DEL") > 0
    }

    /// Deletes key only while its value equals `expected` (EVAL of a small Lua compare-and-delete script).
    /// - Returns: Whether the key held `expected` and was deleted.
    /// - Throws: `RedisError`.
    @discardableResult
    public func compareAndDelete(_ key: String, expected: [UInt8]) async throws(RedisError) -> Bool {
        let command = RESPCommand("EVAL", Array(Self.compareAndDeleteScript.utf8), Array("1".utf8), Array(key.utf8), expected)
        return try integer(try await run(command), from: "EVAL") > 0
    }

    /// Closes every connection. Commands still waiting, and any sent later, fail with `.unavailable`.
    public func shutdown() async {
        await pool.shutdown()
    }

    // MARK: Internals

    /// Runs on the server as one step: nothing can change the key between the comparison and the delete.
    static let compareAndDeleteScript = """
        if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) else return 0 end
        """

    /// Sends a command on a pooled connection and returns its reply; error replies are thrown as
    /// `.server`, and `-LOADING` is retried with a growing pause.
    private func run(_ command: RESPCommand) async throws(RedisError) -> RESPValue {
        var pause = Self.loadingBackoff
        for attempt in 1...Self.loadingAttempts {
            do throws(RedisError) {
                return try await pool.withConnection { connection throws(RedisError) in
                    let reply = try await connection.send(command, deadline: .now() + TimeAmount(configuration.commandTimeout))
                    if case .error(let message) = reply { throw .server(code: RESPValue.errorCode(of: message)) }
                    return reply
                }
            } catch .server(code: "LOADING") where attempt < Self.loadingAttempts {
                try? await Task.sleep(for: pause)
                pause *= 2
            }
        }
        throw .server(code: "LOADING")
    }

    private func bulkString(_ reply: RESPValue, from command: String) throws(RedisError) -> [UInt8]? {
        guard case .bulkString(let bytes) = reply else { throw .protocolError("unexpected reply to \(command)") }
        return bytes
    }

    private func integer(_ reply: RESPValue, from command: String) throws(RedisError) -> Int64 {
        guard case .integer(let value) = reply else { throw .protocolError("unexpected reply to \(command)") }
        return value
    }

    /// The longest expiry sent, about 2,000 years: Redis refuses a `PX` that overflows its clock.
    static let longestExpiry: Int64 = 1 << 46

    /// `duration` in milliseconds, rounded up, at least 1 (Redis refuses `PX 0`) and at most
    /// `longestExpiry`.
    static func wholeMilliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0, attoseconds >= 0 else { return 1 }
        guard seconds < longestExpiry / 1000 else { return longestExpiry }
        let attosecondsPerMillisecond: Int64 = 1_000_000_000_000_000
        let fraction = (attoseconds + attosecondsPerMillisecond - 1) / attosecondsPerMillisecond
        return max(1, seconds * 1000 + fraction)
    }
}
