import ArgumentParser
import ConnectorCore
import Foundation
import ProbeEngine
import Probes

/// Options shared by every command that runs probes.
struct EngineOptions: ParsableArguments {
    @Option(help: "Probes allowed in flight at once.")
    var maxInFlight: Int = 4096

    @Option(help: "Default probe deadline in seconds.")
    var defaultTimeout: Double = 10

    @Option(help: "Longest deadline a request may ask for, in seconds.")
    var maxTimeout: Double = 60

    @Option(help: "Reactor threads driving probes (default: one per core).")
    var reactorThreads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Flag(help: "Production egress policy: deny loopback and private addresses unless allow-listed.")
    var production = false

    @Option(help: "Extra CIDR to allow (repeatable).")
    var allowCIDR: [String] = []

    @Option(help: "Extra CIDR to deny (repeatable).")
    var denyCIDR: [String] = []

    @Option(help: "Google OAuth token endpoint.")
    var googleTokenURL = GoogleEndpoints.google.tokenURL

    @Option(help: "Google Cloud Storage JSON API base URL.")
    var googleStorageURL = GoogleEndpoints.google.storageURL

    @Option(name: .customLong("google-bigquery-url"), help: "BigQuery API base URL.")
    var googleBigQueryURL = GoogleEndpoints.google.bigQueryURL

    @Option(help: "Google Drive API base URL.")
    var googleDriveURL = GoogleEndpoints.google.driveURL

    @Option(
        name: .customLong("google-oauth-client-id"),
        help: "The platform's Google OAuth client id, used to refresh Drive tokens (its secret: env CONNECTOR_ENGINE_GOOGLE_CLIENT_SECRET).")
    var googleOAuthClientID: String?

    @Option(help: "A key file token_uri to honour besides --google-token-url (repeatable).")
    var allowTokenURI: [String] = []

    @Option(name: .customLong("google-ca-file"), help: "PEM bundle that verifies the Google endpoints (for self-hosted or test endpoints).")
    var googleCAFile: String?

    @Option(help: "Dropbox API base URL (its token endpoint is <URL>/oauth2/token).")
    var dropboxURL = DropboxEndpoints.dropbox.apiURL

    @Option(help: "Send every Snowflake login to this base URL instead of https://<account>.snowflakecomputing.com.")
    var snowflakeURL: String?

    var googleEndpoints: GoogleEndpoints {
        let secret = ProcessInfo.processInfo.environment["CONNECTOR_ENGINE_GOOGLE_CLIENT_SECRET"] ?? ""
        let client = googleOAuthClientID.map { (id: $0, secret: secret) }
        return GoogleEndpoints(
            tokenURL: googleTokenURL, storageURL: googleStorageURL, bigQueryURL: googleBigQueryURL, driveURL: googleDriveURL,
            oauthClient: client, allowedTokenURLs: Set(allowTokenURI), caFile: googleCAFile)
    }

    func makeEngine() throws -> ProbeEngine {
        var egress: EgressPolicy = production ? .production : .development
        for text in allowCIDR {
            guard let cidr = CIDR(text) else { throw ValidationError("--allow-cidr: '\(text)' is not a CIDR") }
            egress.allow.append(cidr)
        }
        for text in denyCIDR {
            guard let cidr = CIDR(text) else { throw ValidationError("--deny-cidr: '\(text)' is not a CIDR") }
            egress.deny.append(cidr)
        }
        guard let defaultDeadline = Duration.checkedSeconds(defaultTimeout), let maxDeadline = Duration.checkedSeconds(maxTimeout)
        else { throw ValidationError("--default-timeout and --max-timeout must be positive numbers of seconds") }
        guard maxInFlight > 0, reactorThreads > 0 else { throw ValidationError("--max-in-flight and --reactor-threads must be positive") }
        let configuration = EngineConfiguration(
            maxInFlight: maxInFlight, defaultTimeout: defaultDeadline, maxTimeout: maxDeadline,
            reactorThreads: reactorThreads, egress: egress)
        return try ProbeEngine.standard(
            configuration: configuration, google: googleEndpoints, dropbox: DropboxEndpoints(apiURL: dropboxURL),
            snowflake: SnowflakeEndpoints(baseURLOverride: snowflakeURL))
    }
}

/// Connector metadata given on the command line.
struct MetadataOptions: ParsableArguments {
    @Option(name: .customLong("connector"), help: "Catalog id, e.g. postgresql|6db35f45-be11-4fd5-80c5-85c48183afbb.")
    var connectorID: String

    @Option(help: "Connector metadata as a JSON object.")
    var metadata: String?

    @Option(help: "Read the connector metadata (a JSON object) from this file.")
    var file: String?

    func load() throws -> JSONValue {
        let text: String
        switch (metadata, file) {
        case (let inline?, nil): text = inline
        case (nil, let path?): text = try String(contentsOfFile: path, encoding: .utf8)
        default: throw ValidationError("Give exactly one of --metadata and --file.")
        }
        do {
            return try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        } catch {
            throw ValidationError("The connector metadata is not valid JSON.")
        }
    }
}

/// Writes JSON to standard output.
enum Output {
    static func json(_ value: JSONValue) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        if let data = try? encoder.encode(value) { print(String(decoding: data, as: UTF8.self)) }
    }

    static func error(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}
