import ArgumentParser
import Foundation
import ConnectorCore
import FixtureRunner
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

        @OptionGroup var engineOptions: EngineOptions

        func run() async throws {
            let cases: [FixtureCase]
            do {
                cases = try FixtureLoader.load(directory: directory, environment: ProcessInfo.processInfo.environment)
            } catch {
                Output.error("fixtures: \(error)")
                throw ExitCode(2)
            }
            let engine = try engineOptions.makeEngine()
            let onTerminal = isatty(STDERR_FILENO) == 1
            let results = await FixtureRun.run(cases, engine: engine, concurrency: concurrency) { done, total, result in
                if onTerminal {
                    Output.error("\u{1B}[2K\r[\(done)/\(total)] \(result.passed ? "ok  " : "FAIL") \(result.fixture.name)", newline: false)
                }
            }
            if onTerminal { Output.error("") }
            engine.shutdownAndRemoveFiles()
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
