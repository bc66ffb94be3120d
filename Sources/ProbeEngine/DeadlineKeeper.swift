import Foundation
import LinuxIO
import Synchronization

/// A thread that does nothing but keep deadlines: when one passes it delivers the timeout at once
/// and asks the probe's reactor to clean up, so a reactor busy inside a driver call never delays
/// a verdict.
final class DeadlineKeeper: @unchecked Sendable {
    private struct State {
        var heap = DeadlineHeap()
        var tickets: [UInt64: ProbeTicket] = [:]
        var stopping = false
    }

    private let state = Mutex(State())
    private let epoll: Epoll
    private let wakeup: WakeupSignal
    private let onExpired: @Sendable (ProbeTicket) -> Void

    /// - Parameter onExpired: called on the keeper thread for each ticket whose deadline passed.
    init(onExpired: @escaping @Sendable (ProbeTicket) -> Void) throws(SystemError) {
        self.onExpired = onExpired
        epoll = try Epoll(capacity: 4)
        wakeup = try WakeupSignal()
        try epoll.watch(wakeup.descriptor, for: .readable, token: 0)
        let thread = Thread { [self] in self.run() }
        thread.name = "deadline-keeper"
        thread.start()
    }

    /// Starts watching a ticket's deadline.
    func watch(_ ticket: ProbeTicket) {
        let earliest = state.withLock { state -> Bool in
            state.tickets[ticket.id] = ticket
            let wasEarliest = state.heap.peek().map { ticket.deadline < $0.deadline } ?? true
            state.heap.push(deadline: ticket.deadline, id: ticket.id)
            return wasEarliest
        }
        if earliest { wakeup.signal() }
    }

    /// Stops watching a ticket (its probe was retired).
    func forget(_ id: UInt64) {
        state.withLock { _ = $0.tickets.removeValue(forKey: id) }
    }

    /// Ends the keeper thread.
    /// - Returns: the tickets it was still watching, for the caller to settle.
    func stop() -> [ProbeTicket] {
        let remaining = state.withLock { state -> [ProbeTicket] in
            state.stopping = true
            defer { state.tickets.removeAll() }
            return Array(state.tickets.values)
        }
        wakeup.signal()
        return remaining
    }

    private func run() {
        while true {
            let now = ProcessClock.now()
            let (due, wait, stopping) = state.withLock { state -> ([ProbeTicket], Int32, Bool) in
                var due: [ProbeTicket] = []
                while let top = state.heap.peek(), top.deadline <= now {
                    state.heap.pop()
                    if let ticket = state.tickets.removeValue(forKey: top.id) { due.append(ticket) }
                }
                let wait = state.heap.peek().map { Int32(min(($0.deadline - now + 999_999) / 1_000_000, 60_000)) } ?? -1
                return (due, wait, state.stopping)
            }
            due.forEach(onExpired)
            if stopping { return }
            if due.isEmpty {
                for _ in epoll.wait(timeoutMilliseconds: wait) { wakeup.drain() }
            }
        }
    }
}

/// A binary min-heap of (deadline, ticket id).
struct DeadlineHeap {
    private var items: [(deadline: UInt64, id: UInt64)] = []

    func peek() -> (deadline: UInt64, id: UInt64)? { items.first }

    mutating func push(deadline: UInt64, id: UInt64) {
        items.append((deadline, id))
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[child].deadline < items[parent].deadline else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    @discardableResult
    mutating func pop() -> (deadline: UInt64, id: UInt64)? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let top = items.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < items.count && items[left].deadline < items[smallest].deadline { smallest = left }
            if right < items.count && items[right].deadline < items[smallest].deadline { smallest = right }
            guard smallest != parent else { break }
            items.swapAt(parent, smallest)
            parent = smallest
        }
        return top
    }
}
