import ArgumentParser
import ConnectorCore
import Foundation
import LinuxIO
import ProbeEngine
import Probes

/// `connector-engine bench`: N probes of one target at concurrency C.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run N probes of one target at concurrency C and report throughput, latency, CPU and memory.")

    @OptionGroup var source: MetadataOptions
    @OptionGroup var engineOptions: EngineOptions

    @Option(name: .short, help: "Number of probes.")
    var n = 1000

    @Option(name: .short, help: "Probes in flight at once.")
    var c = 64

    @Option(help: "Deadline of each probe, in seconds.")
    var timeout: Double = 10

    @Option(help: "Share of probes sent with a wrong password (S3: secret) (0...1).")
    var wrongPasswordRatio: Double = 0

    @Option(help: "A JSON file holding an array of objects; probe i merges object i mod count over the metadata (many accounts in one run).")
    var variants: String?

    @Flag(help: "Print the result as JSON.")
    var json = false

    func run() async throws {
        let metadata = try source.load()
        guard (0...1).contains(wrongPasswordRatio) else { throw ValidationError("--wrong-password-ratio must be within 0...1") }
        guard let deadline = Duration.checkedSeconds(timeout) else { throw ValidationError("--timeout must be a positive number of seconds") }
        let overlays = try variants.map(Self.loadVariants) ?? [[:]]
        let engine = try engineOptions.makeEngine()
        let requests = (0..<n).map { index in
            let wrong = (Double(index + 1) * wrongPasswordRatio).rounded(.down) > (Double(index) * wrongPasswordRatio).rounded(.down)
            var variant = metadata
            if case .object(var members) = metadata {
                members.merge(overlays[index % overlays.count]) { _, overlay in overlay }
                variant = .object(members)
            }
            return ProbeRequest(
                connectorID: source.connectorID, metadata: wrong ? Self.withWrongPassword(variant, index) : variant,
                timeout: deadline)
        }
        let cpuBefore = ProcessClock.cpuSeconds()
        let started = ProcessClock.now()
        var latencies: [Double] = []
        var codes: [String: Int] = [:]
        latencies.reserveCapacity(n)
        for await (_, report) in engine.testAll(requests, concurrency: c) {
            latencies.append(report.elapsedMilliseconds)
            codes[report.code.rawValue, default: 0] += 1
        }
        let wall = Double(ProcessClock.now() - started) / 1e9
        let cpu = ProcessClock.cpuSeconds() - cpuBefore
        await engine.shutdownAndRemoveFiles()
        latencies.sort()
        func percentile(_ p: Double) -> Double {
            latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int((Double(latencies.count) * p).rounded(.up)) - 1)]
        }
        let result: JSONValue = [
            "probes": .number(Double(n)), "concurrency": .number(Double(c)), "wall_s": .number(round3(wall)),
            "probes_per_s": .number(round3(Double(n) / wall)), "p50_ms": .number(round3(percentile(0.50))),
            "p99_ms": .number(round3(percentile(0.99))), "client_cpu_s": .number(round3(cpu)),
            "client_cpu_ms_per_probe": .number(round3(cpu * 1000 / Double(max(n, 1)))),
            "peak_rss_mib": .number(round3(Double(ProcessClock.peakResidentBytes()) / 1_048_576)),
            "codes": .object(codes.mapValues { .number(Double($0)) }),
        ]
        if json {
            Output.json(result)
        } else {
            print(
                String(
                    format:
                        "%d probes at concurrency %d: %.2f s wall, %.1f probes/s, p50 %.2f ms, p99 %.2f ms, client CPU %.2f s (%.3f ms/probe), peak RSS %.1f MiB",
                    n, c, wall, Double(n) / wall, percentile(0.5), percentile(0.99), cpu, cpu * 1000 / Double(max(n, 1)),
                    Double(ProcessClock.peakResidentBytes()) / 1_048_576))
            print("outcomes: " + codes.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
        }
    }

    private func round3(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }

    /// The objects of a JSON array file, for `--variants`.
    static func loadVariants(_ path: String) throws -> [[String: JSONValue]] {
        guard let data = FileManager.default.contents(atPath: path), case .array(let items) = try JSONValue.parse(data) else {
            throw ValidationError("--variants must name a file holding a JSON array of objects")
        }
        let objects = items.compactMap(\.objectValue)
        guard !objects.isEmpty, objects.count == items.count else { throw ValidationError("--variants must hold a non-empty array of objects") }
        return objects
    }

    /// The same metadata with a password (or, for S3, a secret) that is certainly wrong.
    static func withWrongPassword(_ metadata: JSONValue, _ index: Int) -> JSONValue {
        guard case .object(var members) = metadata else { return metadata }
        let field = members["password"] == nil && members["secret"] != nil ? "secret" : "password"
        members[field] = .string("wrong-\(field)-\(index)")
        return .object(members)
    }
}
