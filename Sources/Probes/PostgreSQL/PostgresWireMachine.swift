import ConnectorCore
import Crypto
import Foundation
import PostgresWire
import ProbeEngine

/// The decisions of the native PostgreSQL probe as a pure state machine, made as libpq 15 makes
/// them (sslmode's attempts and fallbacks, channel binding, the authentication exchanges): the
/// probe's shell feeds in what the socket and the server said and performs the actions that come
/// out. No I/O; the SCRAM keys come from an injected derivation (a cache in the engine).
struct PostgresWireMachine {
    enum Action: Equatable {
        /// Open a new TCP connection and report ``connected(error:)``.
        case connect
        /// Send these bytes; then wait for what the server says.
        case send([UInt8])
        /// Read the one-byte answer to SSLRequest and report ``sslAnswer(_:)``.
        case readSSLAnswer
        /// Run the TLS handshake and report ``handshakeFinished(verified:names:endPointHash:)``.
        case startTLS
        /// Read messages and report each with ``received(_:)``.
        case readMessages
        /// Send Terminate (best effort) and report the verdict.
        case finish(ProbeOutcome)
    }

    /// What happened to the TLS handshake.
    enum Handshake: Equatable {
        case done(names: PeerNames, endPointHash: [UInt8]?)
        /// The chain did not verify (X509 error code).
        case unverified(Int)
        case failed
    }

    private enum Phase: Equatable {
        case connecting
        case awaitingSSLAnswer
        case handshaking
        /// StartupMessage sent; authentication under way.
        case authenticating
        /// AuthenticationOk received; waiting for ReadyForQuery.
        case authenticated
        case querying
        case finished
    }

    let settings: PostgresSettings
    private let deriveKeys: (_ salt: [UInt8], _ iterations: Int) -> SCRAMKeys
    private let makeNonce: () -> String

    private var phase = Phase.connecting
    /// The stage reached (the shell reports it to the engine).
    private(set) var stage = ProbeStage.connect
    /// Whether the current attempt asks for TLS first (libpq's allow_ssl_try and !wait_ssl_try).
    private var tryTLS: Bool
    /// Whether a failed attempt may be repeated the other way (prefer: without TLS, allow: with).
    private var retryLeft: Bool
    private(set) var tlsInUse = false
    private var endPointHash: [UInt8]?
    private var scram: SCRAMClient?
    private var serverSignature: [UInt8]?
    private var channelBound = false
    /// Whether the server's SCRAM signature (SASLFinal) checked out.
    private var scramVerified = false
    /// The test's first value and the password expiry, as they arrive.
    private(set) var answer: String??
    private(set) var passwordExpiry: String??
    private var queryError: String?
    /// Whether the test query (and Terminate) went out with the last authentication message.
    private var queryPipelined = false
    /// Whether Terminate was sent already (pipelined), so the shell need not send it.
    private(set) var terminateSent = false
    /// Messages received in this probe; past ``maxMessages`` the server is flooding it.
    private var messages = 0
    static let maxMessages = 10_000

    /// - Parameters:
    ///   - deriveKeys: SCRAM's keys of the settings' password for a salt and iteration count.
    ///   - makeNonce: the SCRAM client nonce.
    init(
        settings: PostgresSettings, deriveKeys: @escaping (_ salt: [UInt8], _ iterations: Int) -> SCRAMKeys,
        makeNonce: @escaping () -> String = SCRAMClient.makeNonce
    ) {
        self.settings = settings
        self.deriveKeys = deriveKeys
        self.makeNonce = makeNonce
        tryTLS = !(settings.sslMode == .disable || settings.sslMode == .allow)
        retryLeft = settings.sslMode == .prefer || settings.sslMode == .allow
    }

    /// The first action.
    mutating func start() -> Action {
        phase = .connecting
        return .connect
    }

    /// The TCP connect ended: `error` is its errno (0 when connected).
    mutating func connected(error: Int32) -> Action {
        guard phase == .connecting else { return unexpected() }
        if error != 0 {
            return finish(ConnectErrno.outcome(error, hostAttr: settings.destinationField, portAttr: portAttr))
        }
        if tryTLS {
            phase = .awaitingSSLAnswer
            stage = max(stage, .tls)
            return .send(PostgresFrontend.sslRequest)
        }
        return sendStartup()
    }

    /// After a send: what to read next.
    func sent() -> Action {
        phase == .awaitingSSLAnswer ? .readSSLAnswer : .readMessages
    }

    /// The server's one-byte answer to SSLRequest.
    mutating func sslAnswer(_ byte: UInt8) -> Action {
        guard phase == .awaitingSSLAnswer else { return unexpected() }
        switch byte {
        case UInt8(ascii: "S"):
            phase = .handshaking
            return .startTLS
        case UInt8(ascii: "N"):
            if settings.sslMode.requiresTLS {
                return finish(tlsFailure("The server does not support TLS, which sslmode requires.", signal: "SSLRequest answered N"))
            }
            tryTLS = false
            return sendStartup()
        default:
            // `E` (an old server's error) or anything else: libpq gives up.
            return finish(tlsFailure("The server did not answer the TLS request as PostgreSQL does.", signal: "SSLRequest answered \(byte)"))
        }
    }

    /// The TLS handshake ended.
    mutating func handshakeFinished(_ result: Handshake) -> Action {
        guard phase == .handshaking else { return unexpected() }
        switch result {
        case .failed, .unverified:
            if settings.sslMode == .prefer && retryLeft { return retry(withTLS: false) }
            let signal: String
            if case .unverified(let code) = result { signal = "X509 verify error \(code)" } else { signal = "TLS handshake failed" }
            return finish(
                tlsFailure("TLS could not be set up: the handshake failed, or the server's certificate did not verify.", signal: signal))
        case .done(let names, let hash):
            if settings.sslMode == .verifyFull && !names.match(host: settings.host) {
                return finish(
                    tlsFailure("The server's certificate is not for the host name \(settings.host).", signal: "host name mismatch"))
            }
            tlsInUse = true
            endPointHash = hash
            return sendStartup()
        }
    }

    /// A whole message from the server.
    mutating func received(_ message: PostgresBackendMessage) -> Action {
        messages += 1
        guard messages <= Self.maxMessages else { return finish(protocolViolation("more than \(Self.maxMessages) messages")) }
        switch phase {
        case .authenticating: return authenticating(message)
        case .authenticated: return authenticated(message)
        case .querying: return querying(message)
        default: return unexpected()
        }
    }

    /// The server closed the connection, or reading or writing failed, or sent bytes that are not
    /// the protocol (`malformed`).
    mutating func lost(malformed: Bool = false) -> Action {
        guard phase != .finished else { return unexpected() }
        if phase == .awaitingSSLAnswer {
            return finish(tlsFailure("The server closed the connection instead of answering the TLS request.", signal: "connection closed"))
        }
        if stage == .query {
            // An error received before the server went away says why (a FATAL, say).
            if let queryError { return finish(PostgresClassifier.serverError(queryError, stage: .query, settings: settings)) }
            return finish(ProbeOutcome(.serverError, detail: "The server closed the connection during the test query.", stage: .query))
        }
        return finish(
            ProbeOutcome(
                .protocolError, attr: settings.destinationField,
                detail: malformed
                    ? "The server answered something other than the PostgreSQL protocol."
                    : "The server closed the connection before the test finished.",
                signal: malformed ? "malformed message" : "connection closed", stage: stage))
    }

    // MARK: Authentication

    private mutating func authenticating(_ message: PostgresBackendMessage) -> Action {
        switch message {
        case .authentication(let request): return authenticate(request)
        case .error(let fields):
            let sqlState = fields[UInt8(ascii: "C")] ?? ""
            // libpq tries once more the other way, whatever the error (but for 57P03, which
            // would move to another host).
            if retryLeft && sqlState != "57P03" {
                if settings.sslMode == .prefer && tlsInUse { return retry(withTLS: false) }
                if settings.sslMode == .allow && !tlsInUse { return retry(withTLS: true) }
            }
            return finish(PostgresClassifier.serverError(sqlState, stage: .auth, settings: settings))
        default:
            // libpq 15 takes nothing but an authentication request or an error here.
            return finish(protocolViolation("\(message)"))
        }
    }

    private mutating func authenticate(_ request: PostgresAuthentication) -> Action {
        let requireBinding = settings.sslMode.requiresTLS
        switch request {
        case .ok:
            if requireBinding && !channelBound {
                return finish(unboundLogin())
            }
            // A server that began SCRAM must prove it knows the password (SASLFinal) before
            // the login counts; skipping that proof is not a login.
            if scram != nil && !scramVerified {
                return finish(protocolViolation("AuthenticationOk before the SCRAM exchange finished"))
            }
            phase = .authenticated
            return .readMessages
        case .cleartextPassword, .md5Password:
            if requireBinding { return finish(unboundLogin()) }
            guard !settings.password.isEmpty else { return finish(noPassword()) }
            if case .md5Password(let salt) = request { return lastAuthMessage(PostgresFrontend.password(md5Response(salt: salt))) }
            return lastAuthMessage(PostgresFrontend.password(Array(settings.password.utf8)))
        case .sasl(let mechanisms):
            let binding: SCRAMClient.Binding
            if !tlsInUse && mechanisms.contains("SCRAM-SHA-256-PLUS") {
                // Channel binding offered without TLS: someone stripped the TLS (libpq refuses).
                return finish(protocolViolation("SCRAM-SHA-256-PLUS offered over a connection without TLS"))
            }
            if tlsInUse && mechanisms.contains("SCRAM-SHA-256-PLUS") {
                guard let hash = endPointHash else {
                    return finish(tlsFailure("The server's certificate could not be hashed for channel binding.", signal: "no end-point hash"))
                }
                binding = .tlsServerEndPoint(hash)
            } else if requireBinding {
                return finish(unboundLogin())
            } else if mechanisms.contains("SCRAM-SHA-256") {
                binding = tlsInUse ? .notOffered : .unsupported
            } else {
                return finish(
                    ProbeOutcome(
                        .authFailed, attr: settings.userField,
                        detail: "The server offers no SASL mechanism this engine speaks (\(mechanisms.joined(separator: ", "))).",
                        signal: "SASL mechanisms", stage: .auth))
            }
            guard !settings.password.isEmpty else { return finish(noPassword()) }
            let client = SCRAMClient(nonce: makeNonce(), binding: binding)
            scram = client
            return .send(PostgresFrontend.saslInitialResponse(mechanism: client.mechanism, data: client.firstMessage))
        case .saslContinue(let data):
            guard let client = scram, serverSignature == nil else { return finish(protocolViolation("unexpected SASLContinue")) }
            do {
                let first = try client.parse(serverFirst: data)
                let (message, signature) = client.finalMessage(first, keys: deriveKeys(first.salt, first.iterations))
                serverSignature = signature
                return lastAuthMessage(PostgresFrontend.saslResponse(message))
            } catch {
                return finish(protocolViolation("SCRAM server-first-message: \(error)"))
            }
        case .saslFinal(let data):
            guard let client = scram, let expected = serverSignature else { return finish(protocolViolation("unexpected SASLFinal")) }
            do {
                try SCRAMClient.verify(serverFinal: data, expected: expected)
                scramVerified = true
                if case .tlsServerEndPoint = client.binding { channelBound = true }
                return .readMessages
            } catch {
                return finish(
                    ProbeOutcome(
                        .protocolError, attr: settings.destinationField,
                        detail: "The server could not prove that it knows the password (SCRAM server signature).",
                        signal: "SCRAM \(error)", stage: .auth))
            }
        case .unsupported(let code):
            return finish(
                ProbeOutcome(
                    .authFailed, attr: settings.userField,
                    detail: "The server asks for an authentication method this engine does not speak (Kerberos, GSSAPI or SSPI).",
                    signal: "AuthenticationRequest \(code)", stage: .auth))
        }
    }

    private mutating func authenticated(_ message: PostgresBackendMessage) -> Action {
        switch message {
        case .parameterStatus, .backendKeyData, .notice, .negotiateProtocolVersion: return .readMessages
        case .error(let fields):
            return finish(PostgresClassifier.serverError(fields[UInt8(ascii: "C")] ?? "", stage: .auth, settings: settings))
        case .readyForQuery:
            phase = .querying
            stage = max(stage, .query)
            return queryPipelined ? .readMessages : .send(testQuery)
        default: return finish(protocolViolation("\(message)"))
        }
    }

    // MARK: The test query

    /// The test (`SELECT 1`, or whether the user may use the schema, the name bound as a
    /// parameter), then when the role's password expires; one Sync.
    var testQuery: [UInt8] {
        var statements: [(sql: String, parameters: [String])] = []
        if let schema = settings.schema {
            statements.append(("SELECT has_schema_privilege(current_user, $1::text, 'USAGE')", [schema]))
        } else {
            statements.append(("SELECT 1", []))
        }
        statements.append((PostgresProbe.passwordExpiryQuery, []))
        return PostgresFrontend.extendedQuery(statements)
    }

    /// The last message the client sends to log in, with the test query and Terminate behind it:
    /// the server reads them only once the login succeeded (a failed one ends the session before),
    /// so a successful check costs one round trip less. Nothing in them is secret, and a SCRAM
    /// login still counts only once the server's signature checked out.
    private mutating func lastAuthMessage(_ message: [UInt8]) -> Action {
        queryPipelined = true
        terminateSent = true
        return .send(message + testQuery + PostgresFrontend.terminate)
    }

    private mutating func querying(_ message: PostgresBackendMessage) -> Action {
        switch message {
        case .dataRow(let columns):
            let value = columns.first ?? nil
            if answer == nil { answer = .some(value) } else if passwordExpiry == nil { passwordExpiry = .some(value) }
            return .readMessages
        case .error(let fields):
            // Only the test's own error decides; the expiry query's is ignored, as libpq's path does.
            if answer == nil && queryError == nil { queryError = fields[UInt8(ascii: "C")] ?? "" }
            return .readMessages
        case .readyForQuery:
            return finish(verdict())
        case .authentication, .backendKeyData: return finish(protocolViolation("\(message)"))
        default: return .readMessages
        }
    }

    private func verdict() -> ProbeOutcome {
        if let queryError { return PostgresClassifier.serverError(queryError, stage: .query, settings: settings) }
        guard let answer else {
            return ProbeOutcome(.serverError, detail: "The server answered the test query with no row.", stage: .query)
        }
        if settings.schema != nil, answer != "t" {
            return ProbeOutcome(
                .permissionDenied, attr: "schema", detail: "The user may not use the schema.",
                hint: "GRANT USAGE ON SCHEMA to the user.", signal: "has_schema_privilege = false", stage: .query)
        }
        return .ok
    }

    // MARK: Helpers

    private mutating func sendStartup() -> Action {
        phase = .authenticating
        stage = max(stage, .auth)
        return .send(
            PostgresFrontend.startup([
                ("user", settings.user), ("database", settings.database), ("application_name", "connector-engine"),
            ]))
    }

    /// A new connection, the other way round (libpq's second attempt).
    private mutating func retry(withTLS: Bool) -> Action {
        retryLeft = false
        tryTLS = withTLS
        tlsInUse = false
        endPointHash = nil
        scram = nil
        serverSignature = nil
        scramVerified = false
        channelBound = false
        queryPipelined = false
        terminateSent = false
        phase = .connecting
        return .connect
    }

    private func md5Response(salt: [UInt8]) -> [UInt8] {
        let inner = Self.hex(Insecure.MD5.hash(data: Array((settings.password + settings.user).utf8)))
        return Array("md5".utf8) + Array(Self.hex(Insecure.MD5.hash(data: Array(inner.utf8) + salt)).utf8)
    }

    private static func hex(_ digest: Insecure.MD5Digest) -> String {
        digest.map { String(format: "%02x", $0) }.joined()
    }

    private var portAttr: String {
        settings.destinationField == "host" ? "port" : settings.destinationField
    }

    private func tlsFailure(_ detail: String, signal: String) -> ProbeOutcome {
        ProbeOutcome(.tlsFailure, attr: "sslmode", detail: detail, signal: signal, stage: .tls)
    }

    /// libpq with `channel_binding=require` (what `require` and stronger mean here).
    private func unboundLogin() -> ProbeOutcome {
        ProbeOutcome(
            .tlsFailure, attr: "sslmode",
            detail: "The server did not bind the login to the TLS channel (SCRAM-SHA-256-PLUS), so the password was not sent.",
            hint: "Store the user's password as SCRAM-SHA-256 on the server, or use a weaker sslmode knowingly.",
            signal: "channel binding required", stage: .auth)
    }

    private func noPassword() -> ProbeOutcome {
        ProbeOutcome(
            .authFailed, attr: settings.passwordField, detail: "The server asks for a password and none was given.",
            signal: "no password supplied", stage: .auth)
    }

    private func protocolViolation(_ what: String) -> ProbeOutcome {
        ProbeOutcome(
            .protocolError, attr: settings.destinationField,
            detail: "The server broke off or answered something other than the PostgreSQL protocol.", signal: what, stage: stage)
    }

    private mutating func unexpected() -> Action {
        finish(ProbeOutcome(.serverError, detail: "The probe was resumed in a state that expects nothing."))
    }

    private mutating func finish(_ outcome: ProbeOutcome) -> Action {
        phase = .finished
        return .finish(outcome)
    }
}
