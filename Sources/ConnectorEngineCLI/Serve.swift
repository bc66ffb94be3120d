import ArgumentParser
import ConnectorAPI
import Foundation
import Hummingbird
import Logging
import ProbeEngine
import Probes
import ServiceLifecycle
import UnixSignals

/// `connector-engine serve`: the HTTP API.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve the HTTP API.")

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on.")
    var port = 8080

    @OptionGroup var engineOptions: EngineOptions

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = Logger.Level(rawValue: ProcessInfo.processInfo.environment["LOG_LEVEL"] ?? "") ?? .info
            return handler
        }
        let logger = Logger(label: "connector-engine")
        let engine = try engineOptions.makeEngine()
        let environmentToken = ProcessInfo.processInfo.environment["CONNECTOR_ENGINE_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        let token = environmentToken ?? Self.newToken()
        let configuration = APIConfiguration(host: host, port: port, access: AccessPolicy(token: token))
        let app = buildApplication(engine: engine, configuration: configuration, logger: logger)
        // Written straight to the descriptor: a buffered print would not appear until exit when
        // standard output is a pipe or a file.
        FileHandle.standardOutput.write(Data((Self.banner(host: host, port: port, token: token, generated: environmentToken == nil) + "\n").utf8))
        let services = ServiceGroup(
            configuration: .init(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await services.run()
        engine.shutdownAndRemoveFiles()
    }

    static func newToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }

    static func banner(host: String, port: Int, token: String, generated: Bool) -> String {
        let base = "http://\(host):\(port)/api/v1/unstract/default"
        // A token the operator chose is not echoed into logs; a generated one must be shown once.
        let tokenLine = generated
            ? "API token (generated; set CONNECTOR_ENGINE_TOKEN to choose one): \(token)"
            : "API token: the value of CONNECTOR_ENGINE_TOKEN"
        return """
            Connector Engine is listening on http://\(host):\(port) (organization id: default)
            \(tokenLine)

            Try:
              export TOKEN=\(generated ? token : "$CONNECTOR_ENGINE_TOKEN")
              curl -s -H "Authorization: Bearer $TOKEN" \(base)/supported_connectors/
              curl -s -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \\
                -d '{"connector_id": "postgresql|6db35f45-be11-4fd5-80c5-85c48183afbb", "connector_metadata": {"host": "localhost", "port": "5432", "database": "postgres", "user": "postgres", "password": "secret"}}' \\
                \(base)/test_connectors/
            """
    }
}
