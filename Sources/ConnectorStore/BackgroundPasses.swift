import Logging
import ServiceLifecycle

/// The loop of a background service that works on the store in passes (webhook delivery,
/// history pruning, scheduled checks): one pass, then a pause, until the task is cancelled or
/// its service group shuts down gracefully, which also ends a pause at once. A failed pass is
/// logged with its error's type only (an error may quote a secret) and the next one follows the
/// pause as usual.
/// - Parameter pass: one pass; it returns true when more work is waiting, to go on without a
///   pause.
public func repeatPasses(pause: Duration, logger: Logger, failure: Logger.Message, _ pass: () async throws -> Bool) async {
    while !Task.isCancelled && !Task.isShuttingDownGracefully {
        var moreWaiting = false
        do {
            moreWaiting = try await pass()
        } catch {
            logger.warning(failure, metadata: ["error.type": "\(type(of: error))"])
        }
        if !moreWaiting {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: pause) }
        }
    }
}
