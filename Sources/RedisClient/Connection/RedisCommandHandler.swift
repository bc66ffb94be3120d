import NIOConcurrencyHelpers
import NIOCore
import NIOSSL

/// A command on its way to the server, with the promise its reply completes.
struct RedisRequest {
    var command: RESPCommand
    var promise: EventLoopPromise<RESPValue>
    /// When the reply must have arrived; past it the connection is closed.
    var deadline: NIODeadline
    /// The `.unavailable` reason given when the deadline passes.
    var timeoutReason: String
}

/// Matches replies to commands, in order, and fails every waiting command once the connection
/// breaks.
///
/// Lives on the channel's event loop, like every channel handler. A connection whose command
/// timed out, or that sent a reply nobody asked for, cannot be trusted to line replies up with
/// commands any more, so the handler closes it; the pool then opens a new one.
final class RedisCommandHandler: ChannelDuplexHandler {
    typealias InboundIn = RESPValue
    typealias OutboundIn = RedisRequest
    typealias OutboundOut = RESPCommand

    private struct Waiting {
        var promise: EventLoopPromise<RESPValue>
        var timer: Scheduled<Void>
    }

    private var waiting = CircularBuffer<Waiting>()
    /// Set once the connection is unusable; later commands fail with it at once.
    private var failure: RedisError?
    /// Where the first failure is also kept for the connection: a command written after the
    /// channel closed never reaches this handler, and is told this reason instead.
    private let closeReason: NIOLockedValueBox<RedisError?>?

    init(closeReason: NIOLockedValueBox<RedisError?>? = nil) {
        self.closeReason = closeReason
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        if let failure {
            request.promise.fail(failure)
            promise?.fail(failure)
            return
        }
        let timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: request.deadline) {
            self.fail(context: context, with: .unavailable(request.timeoutReason))
        }
        waiting.append(Waiting(promise: request.promise, timer: timer))
        context.write(wrapOutboundOut(request.command), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let reply = unwrapInboundIn(data)
        guard let head = waiting.popFirst() else {
            fail(context: context, with: .protocolError("reply without a command"))
            return
        }
        head.timer.cancel()
        head.promise.succeed(reply)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(context: context, with: RedisError(connectionError: error))
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(context: context, with: .unavailable("connection lost"))
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        failWaiting(with: failure ?? .unavailable("connection lost"))
    }

    /// Fails every waiting command and closes the connection; the first failure is the one kept.
    private func fail(context: ChannelHandlerContext, with error: RedisError) {
        if failure == nil {
            failure = error
            closeReason?.withLockedValue { $0 = error }
        }
        failWaiting(with: failure ?? error)
        context.close(promise: nil)
    }

    private func failWaiting(with error: RedisError) {
        while let entry = waiting.popFirst() {
            entry.timer.cancel()
            entry.promise.fail(error)
        }
    }
}

extension RedisError {
    /// Maps what a connection's pipeline reports to a short reason without secrets: bytes that
    /// are not RESP, a TLS failure, or an I/O error.
    init(connectionError error: any Error) {
        switch error {
        case let error as RedisError:
            self = error
        case let error as RESPParseError:
            self = .protocolError(error.reason)
        case let error as ByteToMessageDecoderError:
            self = .protocolError("undecodable reply (\(error))")
        case NIOSSLError.uncleanShutdown:
            self = .unavailable("connection lost (TLS closed without close_notify)")
        case NIOSSLError.handshakeFailed(let cause):
            self =
                "\(cause)".contains("CERTIFICATE_VERIFY_FAILED")
                ? .unavailable("TLS handshake failed: the server certificate is not trusted")
                : .unavailable("TLS handshake failed")
        case let error as NIOSSLExtraError where error == .failedToValidateHostname:
            self = .unavailable("TLS handshake failed: the server certificate does not name the host")
        case let error as NIOSSLError:
            self = .unavailable("TLS failure (\(error))")
        case let error as NIOSSLExtraError:
            self = .unavailable("TLS failure (\(error))")
        case let error as IOError:
            self = .unavailable("connection lost: \(Self.describe(error))")
        case let error as ChannelError:
            self = .unavailable("connection lost: \(error)")
        default:
            self = .unavailable("connection lost: \(type(of: error))")
        }
    }

    /// The usual socket errors in a few words; others as NIO describes them.
    static func describe(_ error: IOError) -> String {
        switch error.errnoCode {
        case 32: "broken pipe"
        case 104: "connection reset by peer"
        case 110: "timed out"
        case 111: "connection refused"
        case 113: "no route to host"
        default: error.description
        }
    }
}
