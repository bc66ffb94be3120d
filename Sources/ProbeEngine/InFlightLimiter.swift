import Synchronization

/// Bounds the probes in flight: `acquire` waits (without a thread) for a free slot.
final class InFlightLimiter: Sendable {
    private struct State {
        var available: Int
        let limit: Int
        var waiters: [CheckedContinuation<Void, Never>] = []
        var idleWaiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state: Mutex<State>

    init(limit: Int) {
        state = Mutex(State(available: limit, limit: limit))
    }

    /// Slots taken now.
    var inFlight: Int {
        state.withLock { $0.limit - $0.available }
    }

    /// Returns once every slot is free.
    func waitUntilIdle() async {
        await withCheckedContinuation { continuation in
            let idle = state.withLock { state -> Bool in
                if state.available == state.limit { return true }
                state.idleWaiters.append(continuation)
                return false
            }
            if idle { continuation.resume() }
        }
    }

    /// Takes a slot, waiting for one if none is free.
    func acquire() async {
        let granted = state.withLock { state -> Bool in
            guard state.available > 0 else { return false }
            state.available -= 1
            return true
        }
        if granted { return }
        await withCheckedContinuation { continuation in
            let resumeNow = state.withLock { state -> Bool in
                if state.available > 0 {
                    state.available -= 1
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    /// Returns a slot, handing it straight to the oldest waiter if there is one.
    func release() {
        let (waiter, idle) = state.withLock { state -> (CheckedContinuation<Void, Never>?, [CheckedContinuation<Void, Never>]) in
            if state.waiters.isEmpty {
                state.available += 1
                guard state.available == state.limit else { return (nil, []) }
                defer { state.idleWaiters.removeAll() }
                return (nil, state.idleWaiters)
            }
            return (state.waiters.removeFirst(), [])
        }
        waiter?.resume()
        idle.forEach { $0.resume() }
    }
}
