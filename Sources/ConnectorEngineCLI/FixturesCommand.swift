import ArgumentParser
import ConnectorCore
import FixtureRunner
import Foundation
import ProbeEngine
import Probes
import Synchronization

/// `connector-engine fixtures run DIR`.
struct Fixtures: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fixtures", abstract: "Run fixture cases.", subcommands: [Run.self])

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run every fixture case in a directory; exit non-zero on any mismatch.")

        @Argument(help: "Directory of .yaml fixture files.")
        var directory: String

        @Option(help: "Write JUnit XML to this file.")
        var junit: String?

        @Option(help: "Cases run at once.")
        var concurrency: Int = 32

        @Option(help: "Run the cases through this running server's API (e.g. http://127.0.0.1:8080) instead of in process.")
        var api: String?

        @Option(help: "The environment variable that holds the API token, with --api (never the token itself: `ps` shows arguments).")
        var tokenEnv = "CONNECTOR_ENGINE_TOKEN"

        @OptionGroup var engineOptions: EngineOptions

        func run() async throws {
            let cases: [FixtureCase]
            do {
                cases = try FixtureLoader.load(directory: directory, environment: ProcessInfo.processInfo.environment)
            } catch {
                Output.error("fixtures: \(error)")
                throw ExitCode(2)
            }
            let onTerminal = isatty(STDERR_FILENO) == 1
            let progress: @Sendable (Int, Int, FixtureResult) -> Void = { done, total, result in
                if onTerminal {
                    Output.error("\u{1B}[2K\r[\(done)/\(total)] \(result.passed ? "ok  " : "FAIL") \(result.fixture.name)", newline: false)
                }
            }
            let results: [FixtureResult]
            if let api {
                guard let url = URL(string: api), url.scheme != nil else {
                    throw ValidationError("--api needs a URL such as http://127.0.0.1:8080")
                }
                guard let token = ProcessInfo.processInfo.environment[tokenEnv], !token.isEmpty else {
                    throw ValidationError("--api needs the API token in the environment variable \(tokenEnv) (or name another with --token-env)")
                }
                results = await FixtureRun.run(
                    cases, executor: APIExecutor(baseURL: url, token: token), concurrency: concurrency, progress: progress)
            } else {
                let engine = try engineOptions.makeEngine()
                results = await FixtureRun.run(cases, engine: engine, concurrency: concurrency, progress: progress)
                await engine.shutdownAndRemoveFiles()
            }
            if onTerminal { Output.error("") }
            let failed = results.filter { !$0.passed }
            for result in failed {
                print("FAIL \(result.fixture.name): \(result.mismatches.joined(separator: "; ")) — \(result.report.detail)")
            }
            if let junit {
                try JUnitReport.xml(results).write(toFile: junit, atomically: true, encoding: .utf8)
            }
            print("\(results.count - failed.count) passed, \(failed.count) failed")
            if !failed.isEmpty { throw ExitCode(1) }
        }
    }
}

extension Output {
    static func error(_ text: String, newline: Bool) {
        FileHandle.standardError.write(Data((text + (newline ? "\n" : "")).utf8))
    }
}
