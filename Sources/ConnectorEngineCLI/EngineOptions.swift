import ArgumentParser
import ConnectorCore
import Foundation
import OAuthFlow
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

    @Option(help: "Days before an expiry a probe finds (a database password, a certificate) that it is reported as a warning (0...3650).")
    var warnDays = 21

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
        help:
            "The platform's Google OAuth client id, for sign-in and Drive token refresh (default: env GOOGLE_OAUTH2_KEY; its secret: env GOOGLE_OAUTH2_SECRET)."
    )
    var googleOAuthClientID: String?

    @Option(
        name: .customLong("google-refresh-token-days"),
        help:
            "Days Google honours a refresh token of the platform's OAuth client: 7 while its consent screen is in testing (Drive connectors are warned before); unset for a published app."
    )
    var googleRefreshTokenDays: Int?

    @Option(help: "Google's OAuth consent screen.")
    var googleAuthorizeURL = OAuthProvider.standard(.google, clientID: "", clientSecret: "").authorizeURL

    @Option(help: "Dropbox's OAuth consent screen (the app key and secret: env DROPBOX_OAUTH2_KEY, DROPBOX_OAUTH2_SECRET).")
    var dropboxAuthorizeURL = OAuthProvider.standard(.dropbox, clientID: "", clientSecret: "").authorizeURL

    @Option(help: "A key file token_uri to honour besides --google-token-url (repeatable).")
    var allowTokenURI: [String] = []

    @Option(name: .customLong("google-ca-file"), help: "PEM bundle that verifies the Google endpoints (for self-hosted or test endpoints).")
    var googleCAFile: String?

    @Option(help: "Dropbox API base URL (its token endpoint is <URL>/oauth2/token).")
    var dropboxURL = DropboxEndpoints.dropbox.apiURL

    @Option(
        help:
            "PostgreSQL probes: automatic (the engine's own protocol path, libpq where it does not cover the credentials) or libpq (always)."
    )
    var postgresDriver: PostgresPath = .automatic

    @Option(help: "Send every Snowflake login to this base URL instead of https://<account>.snowflakecomputing.com.")
    var snowflakeURL: String?

    /// The platform's OAuth client of each backend, from the command line and the environment
    /// (Unstract's variable names; `CONNECTOR_ENGINE_GOOGLE_CLIENT_SECRET` is still read).
    func oauthClient(_ backend: OAuthBackend) -> (id: String, secret: String)? {
        let environment = ProcessInfo.processInfo.environment
        let id: String?
        let secret: String?
        switch backend {
        case .google:
            id = googleOAuthClientID ?? environment["GOOGLE_OAUTH2_KEY"]
            secret = environment["GOOGLE_OAUTH2_SECRET"] ?? environment["CONNECTOR_ENGINE_GOOGLE_CLIENT_SECRET"]
        case .dropbox:
            id = environment["DROPBOX_OAUTH2_KEY"]
            secret = environment["DROPBOX_OAUTH2_SECRET"]
        }
        guard let id, !id.isEmpty else { return nil }
        return (id, secret ?? "")
    }

    /// The OAuth providers whose client is configured, for the sign-in flow.
    var oauthProviders: [OAuthBackend: OAuthProvider] {
        var providers: [OAuthBackend: OAuthProvider] = [:]
        for backend in OAuthBackend.allCases {
            guard let client = oauthClient(backend), !client.secret.isEmpty else { continue }
            let (authorize, token) = backend == .google ? (googleAuthorizeURL, googleTokenURL) : (dropboxAuthorizeURL, dropboxEndpoints.tokenURL)
            providers[backend] = OAuthProvider(
                backend: backend, authorizeURL: authorize, tokenURL: token, clientID: client.id, clientSecret: client.secret)
        }
        return providers
    }

    var dropboxEndpoints: DropboxEndpoints {
        DropboxEndpoints(apiURL: dropboxURL, oauthClient: oauthClient(.dropbox))
    }

    var googleEndpoints: GoogleEndpoints {
        let client = oauthClient(.google)
        return GoogleEndpoints(
            tokenURL: googleTokenURL, storageURL: googleStorageURL, bigQueryURL: googleBigQueryURL, driveURL: googleDriveURL,
            oauthClient: client, allowedTokenURLs: Set(allowTokenURI), caFile: googleCAFile,
            refreshTokenMaxAge: googleRefreshTokenDays.map { TimeInterval($0) * 86_400 })
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
        guard (0...3650).contains(warnDays) else { throw ValidationError("--warn-days must be 0...3650") }
        if let days = googleRefreshTokenDays, !(1...3650).contains(days) {
            throw ValidationError("--google-refresh-token-days must be 1...3650")
        }
        let configuration = EngineConfiguration(
            maxInFlight: maxInFlight, defaultTimeout: defaultDeadline, maxTimeout: maxDeadline,
            reactorThreads: reactorThreads, egress: egress, warnWithin: .seconds(warnDays * 86_400))
        return try ProbeEngine.standard(
            configuration: configuration, google: googleEndpoints, dropbox: dropboxEndpoints,
            snowflake: SnowflakeEndpoints(baseURLOverride: snowflakeURL), postgres: postgresDriver)
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
            return try JSONValue.parse(text.utf8)
        } catch {
            throw ValidationError("The connector metadata is not valid JSON.")
        }
    }
}

/// Writes JSON to standard output.
enum Output {
    /// The same bytes the API answers with (`test --json` promises the API's body).
    static func json(_ value: JSONValue) {
        print(String(decoding: value.serialized(), as: UTF8.self))
    }

    static func error(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}

extension PostgresPath: ExpressibleByArgument {}
