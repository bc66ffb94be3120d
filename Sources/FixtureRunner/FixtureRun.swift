import ConnectorCore
import Foundation
import ProbeEngine

/// The verdict a fixture case got and whether it matched.
public struct FixtureResult: Sendable {
    public var fixture: FixtureCase
    public var report: ProbeReport
    /// What differed from the expectation; empty when the case passed.
    public var mismatches: [String]

    public var passed: Bool { mismatches.isEmpty }
}

/// Runs fixture cases concurrently, in process or through a server's API.
public enum FixtureRun {
    /// Runs `cases` through a probe engine in this process.
    public static func run(
        _ cases: [FixtureCase], engine: ProbeEngine, concurrency: Int,
        progress: @Sendable (Int, Int, FixtureResult) -> Void = { _, _, _ in }
    ) async -> [FixtureResult] {
        await run(cases, executor: EngineExecutor(engine: engine), concurrency: concurrency, progress: progress)
    }

    /// Runs `cases` at most `concurrency` at once through `executor`; `progress` is called after
    /// each, in the order they finish.
    public static func run(
        _ cases: [FixtureCase], executor: some FixtureExecutor, concurrency: Int,
        progress: @Sendable (Int, Int, FixtureResult) -> Void = { _, _, _ in }
    ) async -> [FixtureResult] {
        var results = [FixtureResult?](repeating: nil, count: cases.count)
        var done = 0
        let verdicts = boundedConcurrently(cases.count, limit: concurrency) { index in
            let fixture = cases[index]
            return await executor.test(ProbeRequest(connectorID: fixture.connectorID, metadata: fixture.metadata, timeout: fixture.timeout))
        }
        for await (index, report) in verdicts {
            let result = FixtureResult(fixture: cases[index], report: report, mismatches: compare(report, cases[index].expect))
            results[index] = result
            done += 1
            progress(done, cases.count, result)
        }
        return results.compactMap { $0 }
    }

    /// Lists how `report` differs from `expect`.
    public static func compare(_ report: ProbeReport, _ expect: Expectation) -> [String] {
        var mismatches: [String] = []
        if report.status != expect.status { mismatches.append("status \(report.status), expected \(expect.status)") }
        if report.code.rawValue != expect.code { mismatches.append("code \(report.code), expected \(expect.code)") }
        if let attr = expect.attr, report.attr != attr {
            mismatches.append("attr \(report.attr ?? "none"), expected \(attr)")
        }
        if let stage = expect.stage, report.stage?.rawValue != stage {
            mismatches.append("stage \(report.stage?.rawValue ?? "none"), expected \(stage)")
        }
        return mismatches
    }
}

/// Writes results as JUnit XML.
public enum JUnitReport {
    /// One test case: its class (the connector family), name, duration and failure, if any.
    public struct Case: Sendable {
        public let classname: String
        public let name: String
        public let seconds: Double
        public let failure: String?

        public init(classname: String, name: String, seconds: Double, failure: String?) {
            self.classname = classname
            self.name = name
            self.seconds = seconds
            self.failure = failure
        }
    }

    public static func xml(_ results: [FixtureResult], suite: String = "connector-fixtures") -> String {
        xml(
            suite: suite,
            cases: results.map { result in
                Case(
                    classname: result.fixture.connectorID.split(separator: "|").first.map(String.init) ?? "", name: result.fixture.name,
                    seconds: result.report.elapsedMilliseconds / 1000,
                    failure: result.passed ? nil : result.mismatches.joined(separator: "; "))
            })
    }

    public static func xml(suite: String, cases: [Case]) -> String {
        let failures = cases.filter { $0.failure != nil }.count
        let seconds = cases.reduce(0) { $0 + $1.seconds }
        var xml = #"<?xml version="1.0" encoding="UTF-8"?>"# + "\n"
        xml +=
            #"<testsuite name="\#(escape(suite))" tests="\#(cases.count)" failures="\#(failures)" time="\#(String(format: "%.3f", seconds))">"# + "\n"
        for item in cases {
            xml +=
                #"  <testcase classname="\#(escape(item.classname))" name="\#(escape(item.name))" time="\#(String(format: "%.3f", item.seconds))">"#
            if let failure = item.failure {
                xml += #"<failure message="\#(escape(failure))"/>"#
            }
            xml += "</testcase>\n"
        }
        return xml + "</testsuite>\n"
    }

    private static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
