import ConnectorCore
import Foundation
import ProbeEngine

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Runs one fixture's test: in process through a probe engine, or through a running server's API.
public protocol FixtureExecutor: Sendable {
    func test(_ request: ProbeRequest) async -> ProbeReport
}

/// Tests through a probe engine in this process.
public struct EngineExecutor: FixtureExecutor {
    public let engine: ProbeEngine

    public init(engine: ProbeEngine) {
        self.engine = engine
    }

    public func test(_ request: ProbeRequest) async -> ProbeReport {
        await engine.test(request)
    }
}

/// Tests through `POST {base}/api/v1/unstract/{org}/test_connectors/` of a running server, and
/// reads the verdict back from the response (HTTP status, error body and `probe` object).
public struct APIExecutor: FixtureExecutor {
    public let baseURL: URL
    public let token: String
    public let organization: String

    public init(baseURL: URL, token: String, organization: String = "default") {
        self.baseURL = baseURL
        self.token = token
        self.organization = organization
    }

    public func test(_ request: ProbeRequest) async -> ProbeReport {
        var url = baseURL.appendingPathComponent("api/v1/unstract/\(organization)/test_connectors/")
        if let timeout = request.timeout {
            let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
            url = URL(string: url.absoluteString + "?timeout=\(seconds)") ?? url
        }
        var http = URLRequest(url: url)
        http.httpMethod = "POST"
        http.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        http.setValue("application/json", forHTTPHeaderField: "Content-Type")
        // Long enough for the longest deadline a server accepts by default, plus transfer.
        http.timeoutInterval = 90
        do {
            http.httpBody = Data(
                JSONValue.object(["connector_id": .string(request.connectorID), "connector_metadata": request.metadata]).serialized())
            let (data, response) = try await URLSession.shared.data(for: http)
            let status = (response as? HTTPURLResponse)?.statusCode ?? 0
            return Self.report(status: status, body: try JSONValue.parse(data))
        } catch {
            return ProbeReport(code: .protocolError, detail: "The API request failed: \(type(of: error)).")
        }
    }

    /// Reads a verdict from a `test_connectors/` response.
    static func report(status: Int, body: JSONValue) -> ProbeReport {
        let probe = body["probe"]
        let firstError: JSONValue? = if case .array(let errors)? = body["errors"] { errors.first } else { nil }
        guard let codeText = probe?["code"]?.stringValue ?? firstError?["code"]?.stringValue,
            let code = OutcomeCode(rawValue: codeText), code.status == status
        else {
            let described = firstError?["code"]?.stringValue ?? probe?["code"]?.stringValue ?? "no code"
            return ProbeReport(code: .protocolError, detail: "The API answered HTTP \(status) (\(described)), which is not a test verdict.")
        }
        var elapsed = 0.0
        if case .number(let value)? = probe?["elapsed_ms"] { elapsed = value }
        return ProbeReport(
            code: code, stage: probe?["stage"]?.stringValue.flatMap(ProbeStage.init(rawValue:)),
            attr: probe?["attr"]?.stringValue ?? firstError?["attr"]?.stringValue,
            detail: firstError?["detail"]?.stringValue, hint: probe?["hint"]?.stringValue,
            signal: probe?["signal"]?.stringValue, elapsedMilliseconds: elapsed)
    }
}
