import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import Testing

@testable import RedisClient

/// The command handler on an `EmbeddedChannel`: replies matched in order, timeouts on a
/// virtual clock, broken connections.
@Suite struct CommandHandlerTests {
    private func makeChannel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandlers(
            ByteToMessageHandler(RESPDecoder()), MessageToByteHandler(RESPCommandEncoder()), RedisCommandHandler())
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 6379)).wait()
        return channel
    }

    /// Sends `command`, returning the box its result lands in.
    private func send(
        _ command: RESPCommand, on channel: EmbeddedChannel, within timeout: TimeAmount = .seconds(1)
    )
        -> NIOLockedValueBox<Result<RESPValue, any Error>?>
    {
        let promise = channel.eventLoop.makePromise(of: RESPValue.self)
        let box = NIOLockedValueBox<Result<RESPValue, any Error>?>(nil)
        promise.futureResult.whenComplete { result in box.withLockedValue { $0 = result } }
        let deadline = channel.embeddedEventLoop.now + timeout
        channel.write(RedisRequest(command: command, promise: promise, deadline: deadline, timeoutReason: "command timed out"), promise: nil)
        channel.flush()
        return box
    }

    private func failure(_ box: NIOLockedValueBox<Result<RESPValue, any Error>?>) -> RedisError? {
        guard case .failure(let error) = box.withLockedValue({ $0 }) else { return nil }
        return error as? RedisError
    }

    @Test func repliesGoToCommandsInOrder() throws {
        let channel = try makeChannel()
        let first = send(RESPCommand("GET", Array("a".utf8)), on: channel)
        let second = send(RESPCommand("PING"), on: channel)
        #expect(try channel.readOutbound(as: ByteBuffer.self) == ByteBuffer(string: "*2\r\n$3\r\nGET\r\n$1\r\na\r\n"))
        try channel.writeInbound(ByteBuffer(string: "$-1\r\n+PONG\r\n"))
        #expect(try first.withLockedValue { try $0?.get() } == .bulkString(nil))
        #expect(try second.withLockedValue { try $0?.get() } == .simpleString("PONG"))
        #expect(channel.isActive)
        _ = try? channel.finish()
    }

    @Test func aTimeoutFailsEveryWaitingCommandAndClosesTheConnection() throws {
        let channel = try makeChannel()
        let first = send(RESPCommand("PING"), on: channel, within: .milliseconds(500))
        let second = send(RESPCommand("PING"), on: channel, within: .seconds(5))
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(499))
        #expect(failure(first) == nil)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        #expect(failure(first) == .unavailable("command timed out"))
        #expect(failure(second) == .unavailable("command timed out"))
        #expect(!channel.isActive)
    }

    @Test func aReplyNobodyAskedForIsAProtocolError() throws {
        let channel = try makeChannel()
        try channel.writeInbound(ByteBuffer(string: "+OK\r\n"))
        #expect(!channel.isActive)
    }

    @Test func garbageFailsTheWaitingCommandAsAProtocolError() throws {
        let channel = try makeChannel()
        let waiting = send(RESPCommand("PING"), on: channel)
        _ = try? channel.writeInbound(ByteBuffer(string: "$999999999\r\n"))
        #expect(failure(waiting) == .protocolError("bulk string length 999999999 exceeds 512 MiB"))
        #expect(!channel.isActive)
    }

    @Test func aLostConnectionFailsTheWaitingCommand() throws {
        let channel = try makeChannel()
        let waiting = send(RESPCommand("PING"), on: channel)
        channel.pipeline.fireChannelInactive()
        #expect(failure(waiting) == .unavailable("connection lost"))
    }
}
