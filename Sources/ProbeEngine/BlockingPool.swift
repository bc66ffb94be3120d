import Foundation
import Synchronization

/// A fixed set of threads for the few calls that block (name lookups, a driver that resolves a
/// name itself), so that neither a reactor nor the cooperative pool ever waits on them.
final class BlockingPool: Sendable {
    private let condition = NSCondition()
    private let queue = Mutex<[@Sendable () -> Void]>([])
    private let stopping = Atomic<Bool>(false)

    init(threads: Int, name: String) {
        for index in 0..<threads {
            let thread = Thread { [self] in self.work() }
            thread.name = "\(name)-\(index)"
            thread.stackSize = 256 * 1024
            thread.start()
        }
    }

    /// Runs `job` on one of the pool's threads; after ``stop()``, on the caller's thread.
    func submit(_ job: @escaping @Sendable () -> Void) {
        condition.lock()
        guard !stopping.load(ordering: .relaxed) else {
            condition.unlock()
            return job()
        }
        queue.withLock { $0.append(job) }
        condition.signal()
        condition.unlock()
    }

    /// Lets the threads end once the queue is empty.
    func stop() {
        condition.lock()
        stopping.store(true, ordering: .relaxed)
        condition.broadcast()
        condition.unlock()
    }

    private func work() {
        while true {
            condition.lock()
            var job = queue.withLock { $0.isEmpty ? nil : $0.removeFirst() }
            while job == nil && !stopping.load(ordering: .relaxed) {
                condition.wait()
                job = queue.withLock { $0.isEmpty ? nil : $0.removeFirst() }
            }
            condition.unlock()
            guard let job else { return }
            job()
        }
    }
}
