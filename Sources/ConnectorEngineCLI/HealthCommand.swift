import ArgumentParser
import ConnectorCore
import ConnectorStore
import FixtureRunner
import Foundation
import HealthChecks
import Logging
import ProbeEngine
import Probes
import Synchronization

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `connector-engine health`: checks stored connectors, straight from the store (operator use)
/// or through a running server's API, and prints them failing first.
struct HealthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health",
        abstract: "Check stored connectors; a table sorted failing first; exit 0 only when all are valid.",
        discussion: """
            Without --api the checks run in this process on the store of --data-dir (or DATABASE_URL), every \
            organization unless --org names one, and are recorded in each connector's health history. With --api they \
            run as a health job of that server, for the connectors the token's user may see.
            """)

    @Option(help: "Only this organization (with --api: the organization of the job; default 'default').")
    var org: String?

    @Flag(help: "List only the connectors that failed.")
    var onlyFailing = false

    @Flag(help: "Print the results as a JSON array (the API's job results) instead of a table.")
    var json = false

    @Option(help: "Write the results as JUnit XML to this file (a failing connector is a failed case).")
    var junit: String?

    @Option(help: "Checks at once.")
    var concurrency = 16

    @Option(help: "Checks at once against one destination (host and port, endpoint, account).")
    var perHost = 4

    @Option(help: "Deadline of each check, in seconds.")
    var timeout: Double?

    @Option(help: "Check through this running server's API (e.g. http://127.0.0.1:8080) instead of the store.")
    var api: String?

    @Option(help: "The environment variable that holds the API token, with --api (never the token itself: `ps` shows arguments).")
    var tokenEnv = "CONNECTOR_ENGINE_TOKEN"

    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var engineOptions: EngineOptions

    func validate() throws {
        if json && junit != nil { throw ValidationError("--json and --junit are exclusive") }
        guard (1...1024).contains(concurrency) else { throw ValidationError("--concurrency must be 1...1024") }
        guard (1...256).contains(perHost) else { throw ValidationError("--per-host must be 1...256") }
        if let timeout, Duration.checkedSeconds(timeout) == nil { throw ValidationError("--timeout must be a positive number of seconds") }
    }

    func run() async throws {
        let deadline = timeout.flatMap(Duration.checkedSeconds)
        let progress = HealthProgress(onTerminal: isatty(STDERR_FILENO) == 1)
        let results: [JSONValue]
        if let api {
            results = try await HealthThroughAPI(baseURL: api, tokenEnv: tokenEnv, organization: org ?? "default")
                .run(concurrency: concurrency, timeout: timeout, progress: progress)
        } else {
            results = try await checkStore(deadline: deadline, progress: progress)
        }
        progress.finish()
        let rows = results.map(HealthRow.init).sorted()
        let shown = onlyFailing ? rows.filter { !$0.isValid } : rows
        if json {
            print(String(decoding: JSONValue.array(shown.map(\.json)).serialized(), as: UTF8.self))
        } else {
            print(HealthRow.table(shown))
        }
        if let junit {
            let cases = shown.map { JUnitReport.Case(classname: $0.family, name: $0.name, seconds: $0.milliseconds / 1000, failure: $0.failure) }
            try JUnitReport.xml(suite: "connector-health", cases: cases).write(toFile: junit, atomically: true, encoding: .utf8)
        }
        let failing = rows.filter { !$0.isValid }.count
        Output.error("\(rows.count) checked: \(rows.count - failing) valid, \(failing) failing")
        if failing > 0 { throw ExitCode(1) }
    }

    /// Every connector of the organizations, one job per organization (they take turns).
    private func checkStore(deadline: Duration?, progress: HealthProgress) async throws -> [JSONValue] {
        var logger = Logger(label: "connector-engine")
        logger.logLevel = .warning
        return try await storeOptions.withStore(production: engineOptions.production, logger: logger) { store in
            let known = try await store.organizations().map(\.id)
            if let org, !known.contains(org) {
                throw ValidationError("no organization '\(org)' in the store")
            }
            let engine = try engineOptions.makeEngine()
            let dispatcher = BatchDispatcher(
                checker: StoredConnectorChecker(engine: engine, store: store), limits: BatchLimits(total: concurrency, perHost: perHost))
            var jobs: [HealthJob] = []
            for organization in org.map({ [$0] }) ?? known {
                let connectors = try await store.connectors(organization: organization)
                let job = HealthJob(
                    organization: organization, owner: nil, requester: "cli", total: connectors.count, concurrency: concurrency,
                    timeout: deadline)
                progress.add(total: connectors.count)
                dispatcher.submit(job, connectors: connectors)
                jobs.append(job)
            }
            let results = await withTaskGroup(of: [JSONValue].self) { group in
                for job in jobs {
                    group.addTask {
                        var collected: [JSONValue] = []
                        for await result in job.follow() {
                            progress.tick()
                            collected.append(result.json)
                        }
                        return collected
                    }
                }
                return await group.reduce(into: []) { $0 += $1 }
            }
            await engine.shutdownAndRemoveFiles()
            return results
        }
    }
}

/// One checked connector as the table, JSON and JUnit outputs show it.
struct HealthRow: Comparable {
    let json: JSONValue
    var name: String { json["connector_name"]?.stringValue ?? "" }
    var family: String { json["connector_id"]?.stringValue?.split(separator: "|").first.map(String.init) ?? "" }
    var isValid: Bool { json["is_valid"]?.boolValue ?? false }
    var code: String { json["code"]?.stringValue ?? "" }
    var stage: String { json["stage"]?.stringValue ?? "-" }
    var milliseconds: Double { if case .number(let ms)? = json["elapsed_ms"] { ms } else { 0 } }
    var warning: String { json["warnings"]?[0]?["code"]?.stringValue ?? "" }
    var failure: String? { isValid ? nil : "\(code) at \(stage): \(json["detail"]?.stringValue ?? "")" }

    init(_ json: JSONValue) { self.json = json }

    /// Failing first, then by name.
    static func < (left: HealthRow, right: HealthRow) -> Bool {
        if left.isValid != right.isValid { return !left.isValid }
        return (left.name, left.json["id"]?.stringValue ?? "") < (right.name, right.json["id"]?.stringValue ?? "")
    }

    static func == (left: HealthRow, right: HealthRow) -> Bool { left.json == right.json }

    /// Columns name, type, code, stage, ms, warning, padded to their widest cell.
    static func table(_ rows: [HealthRow]) -> String {
        let header = ["NAME", "TYPE", "CODE", "STAGE", "MS", "WARNING"]
        let cells = rows.map { [$0.name, $0.family, $0.code, $0.stage, String(format: "%.1f", $0.milliseconds), $0.warning] }
        let widths = header.indices.map { column in ([header] + cells).map { $0[column].count }.max() ?? 0 }
        return ([header] + cells).map { line in
            zip(line, widths).map { cell, width in cell.padding(toLength: width, withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n")
    }
}

/// A progress line on standard error when it is a terminal: done/total, rate, ETA.
final class HealthProgress: Sendable {
    private let onTerminal: Bool
    private let started = ContinuousClock.now
    private let counts = Mutex<(done: Int, total: Int)>((0, 0))

    init(onTerminal: Bool) { self.onTerminal = onTerminal }

    func add(total: Int) { counts.withLock { $0.total += total } }

    func tick() {
        let (done, total) = counts.withLock { counts in
            counts.done += 1
            return (counts.done, counts.total)
        }
        guard onTerminal else { return }
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let rate = seconds > 0 ? Double(done) / seconds : 0
        let eta = rate > 0 ? Double(total - done) / rate : 0
        let width = 30
        let filled = total > 0 ? width * done / total : width
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        Output.error(
            "\u{1B}[2K\r[\(bar)] \(done)/\(total)  \(String(format: "%.0f", rate))/s  ETA \(String(format: "%.0f", eta)) s", newline: false)
    }

    func finish() {
        if onTerminal { Output.error("") }
    }
}

/// `health --api`: a health job on a running server, its results read from the job's NDJSON stream.
struct HealthThroughAPI {
    let baseURL: String
    let tokenEnv: String
    let organization: String

    func run(concurrency: Int, timeout: Double?, progress: HealthProgress) async throws -> [JSONValue] {
        guard let base = URL(string: baseURL), base.scheme != nil else {
            throw ValidationError("--api needs a URL such as http://127.0.0.1:8080")
        }
        guard let token = ProcessInfo.processInfo.environment[tokenEnv], !token.isEmpty else {
            throw ValidationError("--api needs the API token in the environment variable \(tokenEnv) (or name another with --token-env)")
        }
        let jobs = base.appendingPathComponent("api/v1/unstract/\(organization)/health_checks/")
        var start = URLRequest(url: jobs)
        start.httpMethod = "POST"
        start.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        start.setValue("application/json", forHTTPHeaderField: "Content-Type")
        var body: [String: JSONValue] = ["concurrency": .number(Double(concurrency))]
        if let timeout { body["timeout"] = .number(timeout) }
        start.httpBody = Data(JSONValue.object(body).serialized())
        let (data, response) = try await URLSession.shared.data(for: start)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        let answer = try? JSONValue.parse(Array(data))
        guard status == 202, let id = answer?["job_id"]?.stringValue, case .number(let total)? = answer?["total"] else {
            let detail = answer?["errors"]?[0]?["detail"]?.stringValue ?? "HTTP \(status)"
            throw ValidationError("the server did not start the job: \(detail)")
        }
        progress.add(total: Int(total))
        var follow = URLRequest(url: jobs.appendingPathComponent(id).appendingPathComponent("stream"))
        follow.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        follow.timeoutInterval = 3600
        var results: [JSONValue] = []
        for try await line in NDJSONLines.stream(follow) {
            results.append(try JSONValue.parse(Array(line.utf8)))
            progress.tick()
        }
        return results
    }
}

/// The lines of a streamed response body as they arrive (Foundation on Linux has no
/// `URLSession.bytes`).
final class NDJSONLines: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    private let continuation: AsyncThrowingStream<String, any Error>.Continuation
    private var pending = Data()

    private init(_ continuation: AsyncThrowingStream<String, any Error>.Continuation) {
        self.continuation = continuation
    }

    static func stream(_ request: URLRequest) -> AsyncThrowingStream<String, any Error> {
        AsyncThrowingStream { continuation in
            let delegate = NDJSONLines(continuation)
            let session = URLSession(configuration: .ephemeral, delegate: delegate, delegateQueue: nil)
            let task = session.dataTask(with: request)
            continuation.onTermination = { _ in
                task.cancel()
                session.finishTasksAndInvalidate()
            }
            task.resume()
        }
    }

    func urlSession(
        _ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
        completionHandler: @escaping (URLSession.ResponseDisposition) -> Void
    ) {
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        if status == 200 {
            completionHandler(.allow)
        } else {
            continuation.finish(throwing: ValidationError("the job's stream answered HTTP \(status)"))
            completionHandler(.cancel)
        }
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        pending.append(data)
        while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
            let line = pending[pending.startIndex..<newline]
            pending.removeSubrange(pending.startIndex...newline)
            if !line.isEmpty { continuation.yield(String(decoding: line, as: UTF8.self)) }
        }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        if let error { continuation.finish(throwing: error) } else { continuation.finish() }
    }
}
