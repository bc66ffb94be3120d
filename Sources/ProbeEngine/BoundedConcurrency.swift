/// Runs `work` for each index in `0..<count`, at most `limit` at once, and yields each index with
/// its result as soon as it finishes. Cancelling the stream's consumer cancels the work.
public func boundedConcurrently<Value: Sendable>(
    _ count: Int, limit: Int, _ work: @escaping @Sendable (Int) async -> Value
) -> AsyncStream<(Int, Value)> {
    AsyncStream { continuation in
        let task = Task {
            await withTaskGroup(of: (Int, Value).self) { group in
                var next = 0
                func addNext() {
                    guard next < count else { return }
                    let index = next
                    next += 1
                    group.addTask { (index, await work(index)) }
                }
                for _ in 0..<max(1, limit) { addNext() }
                for await finished in group {
                    continuation.yield(finished)
                    addNext()
                }
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in task.cancel() }
    }
}
