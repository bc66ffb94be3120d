import ConnectorCore
import ConnectorStore
import Hummingbird
import ProbeEngine
import Synchronization

/// One dependency `/readyz` asks, by name.
struct ReadinessProbe: Sendable {
    let name: String
    let check: @Sendable () async throws -> Void
}

extension ConnectorRoutes {
    /// How long `/readyz` waits for one dependency.
    static let readinessTimeout: Duration = .seconds(2)

    /// `GET /readyz`: 200 when the store (and Redis, when it holds the OAuth cache) answers and
    /// the engine runs; otherwise 503 naming what fails. `/healthz` stays a liveness check.
    func readiness() async -> Response {
        let probes = [ReadinessProbe(name: "store") { try await store.ping() }] + readinessProbes
        let failing =
            await withTaskGroup(of: String?.self) { group in
                for probe in probes {
                    group.addTask { await Self.answers(within: Self.readinessTimeout, probe.check) ? nil : probe.name }
                }
                return await group.reduce(into: [String]()) { if let name = $1 { $0.append(name) } }
            }.sorted() + (engine.isRunning ? [] : ["engine"])
        guard failing.isEmpty else {
            var response = JSONResponse.make(
                status: .serviceUnavailable, body: ["status": "unavailable", "failing": .array(failing.map { .string($0) })])
            response.headers[.retryAfter] = "5"
            return response
        }
        return JSONResponse.make(status: .ok, body: ["status": "ready", "failing": []])
    }

    /// Whether `check` succeeds before `timeout`. A check still running then is left to finish
    /// on its own (a store that hangs must not hold the answer).
    static func answers(within timeout: Duration, _ check: @escaping @Sendable () async throws -> Void) async -> Bool {
        let answer = OneShot()
        return await withCheckedContinuation { continuation in
            answer.arm(continuation)
            Task { answer.resume((try? await check()) != nil) }
            Task {
                try? await Task.sleep(for: timeout)
                answer.resume(false)
            }
        }
    }
}

/// A continuation resumed by the first of several racers.
private final class OneShot: Sendable {
    private let continuation = Mutex<CheckedContinuation<Bool, Never>?>(nil)

    func arm(_ continuation: CheckedContinuation<Bool, Never>) {
        self.continuation.withLock { $0 = continuation }
    }

    func resume(_ value: Bool) {
        continuation.withLock { $0.take() }?.resume(returning: value)
    }
}
