import Foundation

/// Sections that run one at a time per key (a connector id) within this process: two tests of
/// one OAuth connector do not both refresh its token; the second sees what the first stored.
/// Replicas are kept apart by the store's compare-and-swap instead.
public actor KeyedSerializer {
    public init() {}

    private var busy: Set<UUID> = []
    private var waiting: [UUID: [CheckedContinuation<Void, Never>]] = [:]

    public func run<T: Sendable>(_ key: UUID, _ body: @Sendable () async throws -> T) async throws -> T {
        await acquire(key)
        do {
            let result = try await body()
            release(key)
            return result
        } catch {
            release(key)
            throw error
        }
    }

    private func acquire(_ key: UUID) async {
        guard busy.insert(key).inserted else {
            await withCheckedContinuation { waiting[key, default: []].append($0) }
            return
        }
    }

    /// Hands the section to the next waiter (it stays busy) or frees the key.
    private func release(_ key: UUID) {
        guard var queue = waiting[key], !queue.isEmpty else {
            busy.remove(key)
            return
        }
        let next = queue.removeFirst()
        waiting[key] = queue.isEmpty ? nil : queue
        next.resume()
    }
}
