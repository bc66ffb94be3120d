import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import TestProcesses
import Testing

@testable import RedisClient

/// The variables `scripts/services.sh env` prints; `make test` exports them.
enum RedisServices {
    /// A service variable; the test fails (not skips) without it, since these tests exist to run
    /// against the live servers.
    static func value(_ name: String) throws -> String {
        try #require(
            ProcessInfo.processInfo.environment[name], "\(name) is not set: run the tests with `make test`, which starts scripts/services.sh")
    }

    /// The configuration for the URL in `name`, with short timeouts.
    static func configuration(_ name: String, caFile: String? = nil) throws -> RedisConfiguration {
        var configuration = try RedisConfiguration(url: try value(name), caFile: caFile)
        configuration.connectTimeout = .seconds(3)
        configuration.commandTimeout = .seconds(3)
        return configuration
    }

    /// A key no other test uses.
    static func key(_ name: String = #function) -> String {
        "redis-client-tests:\(name):\(UUID().uuidString)"
    }
}

/// The error `body` throws, or `nil`; an error that is not a `RedisError` is recorded as an issue.
func redisError(_ body: () async throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) async -> RedisError? {
    do {
        try await body()
        return nil
    } catch let error as RedisError {
        return error
    } catch {
        Issue.record("not a RedisError: \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// Whether `error` is `.unavailable`, with a reason containing `fragment`.
func isUnavailable(_ error: RedisError?, _ fragment: String = "") -> Bool {
    guard case .unavailable(let reason) = error else { return false }
    return fragment.isEmpty || reason.contains(fragment)
}

/// A free TCP port on 127.0.0.1 (bound, read, released).
func freePort() async throws -> Int {
    let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .bind(host: "127.0.0.1", port: 0).get()
    let port = try #require(channel.localAddress?.port)
    try await channel.close()
    return port
}

/// A stand-in for Redis on 127.0.0.1: answers each command with the RESP text `reply` returns
/// (`nil`: no answer), after `delay`, and counts connections and commands.
final class FakeRedisServer: Sendable {
    typealias Reply = @Sendable (_ connection: Int, _ command: [String]) -> String?

    private let listener: any Channel
    private let accepted: NIOLockedValueBox<[any Channel]>
    private let commands: NIOLockedValueBox<Int>

    var port: Int { listener.localAddress?.port ?? 0 }
    var connectionCount: Int { accepted.withLockedValue { $0.count } }
    var commandCount: Int { commands.withLockedValue { $0 } }

    private init(listener: any Channel, accepted: NIOLockedValueBox<[any Channel]>, commands: NIOLockedValueBox<Int>) {
        self.listener = listener
        self.accepted = accepted
        self.commands = commands
    }

    static func start(delay: TimeAmount = .zero, reply: @escaping Reply) async throws -> FakeRedisServer {
        let accepted = NIOLockedValueBox<[any Channel]>([])
        let commands = NIOLockedValueBox(0)
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                let index = accepted.withLockedValue { channels in
                    channels.append(channel)
                    return channels.count
                }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers(
                        ByteToMessageHandler(RESPDecoder()),
                        ScriptedReplies(connection: index, delay: delay, commands: commands, reply: reply))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return FakeRedisServer(listener: listener, accepted: accepted, commands: commands)
    }

    func stop() async {
        try? await listener.close()
        for channel in accepted.withLockedValue({ $0 }) { try? await channel.close() }
    }

    private final class ScriptedReplies: ChannelInboundHandler {
        typealias InboundIn = RESPValue
        typealias OutboundOut = ByteBuffer

        let connection: Int
        let delay: TimeAmount
        let commands: NIOLockedValueBox<Int>
        let reply: Reply

        init(connection: Int, delay: TimeAmount, commands: NIOLockedValueBox<Int>, reply: @escaping Reply) {
            self.connection = connection
            self.delay = delay
            self.commands = commands
            self.reply = reply
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            commands.withLockedValue { $0 += 1 }
            guard case .array(let parts?) = unwrapInboundIn(data) else { return }
            let words = parts.map { part -> String in
                if case .bulkString(let bytes?) = part { return String(decoding: bytes, as: UTF8.self) }
                return ""
            }
            guard let text = reply(connection, words) else { return }
            let buffer = context.channel.allocator.buffer(string: text)
            if delay == .zero {
                context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
            } else {
                context.eventLoop.assumeIsolated().scheduleTask(in: delay) {
                    context.writeAndFlush(self.wrapOutboundOut(buffer), promise: nil)
                }
            }
        }
    }
}

/// A redis-server of the test's own (no password, nothing persisted), to kill and start again.
final class RedisServerProcess {
    let port: Int
    private let directory: URL
    private var process: ChildProcess?

    init(port: Int) throws {
        self.port = port
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("redis-client-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    deinit {
        kill()
        try? FileManager.default.removeItem(at: directory)
    }

    var pid: Int32? { process?.pid }

    /// Starts redis-server on `port`; it may take a moment to accept connections.
    func start() throws {
        process = try ChildProcess(
            "/usr/bin/redis-server",
            [
                "--port", String(port), "--bind", "127.0.0.1", "--protected-mode", "yes", "--save", "", "--appendonly", "no",
                "--dir", directory.path, "--logfile", directory.appendingPathComponent("log").path,
            ])
    }

    /// Kills the server by its PID (SIGKILL, as a crash would) and waits for it to exit.
    func kill() {
        guard let process, process.isRunning else { return }
        process.send(SIGKILL)
        process.wait()
        self.process = nil
    }
}
