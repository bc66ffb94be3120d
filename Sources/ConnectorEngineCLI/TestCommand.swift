import ArgumentParser
import ConnectorCore
import Foundation
import ProbeEngine
import Probes

/// `connector-engine test`: tests one set of credentials and prints the verdict.
struct TestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test", abstract: "Test one connector's credentials; exit 0 only when they are valid.")

    @OptionGroup var source: MetadataOptions
    @OptionGroup var engineOptions: EngineOptions

    @Option(help: "Deadline over all stages, in seconds.")
    var timeout: Double?

    @Flag(help: "Print the API's response body, with the HTTP status it maps to as \"status\".")
    var json = false

    func run() async throws {
        let metadata = try source.load()
        var deadline: Duration?
        if let timeout {
            guard let checked = Duration.checkedSeconds(timeout) else { throw ValidationError("--timeout must be a positive number of seconds") }
            deadline = checked
        }
        let engine = try engineOptions.makeEngine()
        let report = await engine.test(ProbeRequest(connectorID: source.connectorID, metadata: metadata, timeout: deadline))
        if json {
            guard case .object(var body) = report.responseBody else { return }
            body["status"] = .number(Double(report.status))
            Output.json(.object(body))
        } else {
            print(Self.describe(report))
        }
        await engine.shutdownAndRemoveFiles()
        if !report.isValid { throw ExitCode(1) }
    }

    static func describe(_ report: ProbeReport) -> String {
        var lines = [
            report.isValid
                ? "valid (\(format(report.elapsedMilliseconds)) ms)"
                : "\(report.code) [\(report.status)] at \(report.stage?.rawValue ?? "-")\(report.attr.map { ", field '\($0)'" } ?? ""): \(report.detail)"
        ]
        if !report.isValid { lines.append("hint: \(report.hint)") }
        if let signal = report.signal { lines.append("signal: \(signal)") }
        lines.append(
            "stages: "
                + report.stages.map { "\($0.stage.rawValue) \(format($0.milliseconds)) ms\($0.ok ? "" : " (failed)")" }
                .joined(separator: ", "))
        return lines.joined(separator: "\n")
    }

    static func format(_ milliseconds: Double) -> String {
        String(format: "%.1f", milliseconds)
    }
}
