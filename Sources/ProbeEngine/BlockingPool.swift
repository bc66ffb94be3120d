import Foundation
import Synchronization

/// A fixed set of threads for the calls that block (name lookups), so that neither a reactor nor
/// the cooperative pool ever waits on them. Jobs are served fairly between organizations and
/// users (``LookupQueue``): one tenant's thousand lookups cannot hold every thread.
final class BlockingPool: Sendable {
    private let condition = NSCondition()
    private let queue: Mutex<LookupQueue>
    private let stopping = Atomic<Bool>(false)

    init(threads: Int, name: String, limits: LookupLimits) {
        queue = Mutex(LookupQueue(limits: limits))
        for index in 0..<threads {
            let thread = Thread { [self] in self.work() }
            thread.name = "\(name)-\(index)"
            thread.stackSize = 256 * 1024
            thread.start()
        }
    }

    /// Runs `job` on one of the pool's threads when its organization's and user's turn comes;
    /// after ``stop()``, on the caller's thread.
    func submit(organization: String, user: String, _ job: @escaping @Sendable () -> Void) {
        condition.lock()
        guard !stopping.load(ordering: .relaxed) else {
            condition.unlock()
            return job()
        }
        queue.withLock { $0.enqueue(LookupQueue.Job(organization: organization, user: user, run: job)) }
        condition.signal()
        condition.unlock()
    }

    /// Lets the threads end once no job may run.
    func stop() {
        condition.lock()
        stopping.store(true, ordering: .relaxed)
        condition.broadcast()
        condition.unlock()
    }

    private func work() {
        while true {
            condition.lock()
            var job = queue.withLock { $0.next() }
            while job == nil && !stopping.load(ordering: .relaxed) {
                condition.wait()
                job = queue.withLock { $0.next() }
            }
            condition.unlock()
            guard let job else {
                // Stopping: what still waits runs now, so every waiter gets an answer.
                for left in queue.withLock({ $0.drain() }) { left.run() }
                return
            }
            job.run()
            condition.lock()
            queue.withLock { $0.finished(job) }
            // A freed slot may let a job of this organization or user run.
            condition.broadcast()
            condition.unlock()
        }
    }
}
