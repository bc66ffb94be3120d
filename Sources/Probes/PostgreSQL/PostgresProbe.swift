import ConnectorCore
import Foundation
import LinuxIO
import PostgresDriver
import PostgresWire
import ProbeEngine

/// Which implementation tests PostgreSQL credentials.
public enum PostgresPath: String, Sendable, CaseIterable {
    /// The engine's own protocol path wherever it covers the credentials, libpq elsewhere.
    case automatic
    /// libpq for everything (the reference the native path is compared with).
    case libpq
}

/// Plans PostgreSQL probes from metadata: the native path (``PostgresNativeProbe``) unless the
/// credentials need what only libpq does, then libpq (``PostgresProbe``).
struct PostgresProbeDriver: ProbeDriver {
    let path: PostgresPath
    /// SCRAM keys of recent credentials, shared by this engine's native probes.
    let keys: SCRAMKeyCache

    init(path: PostgresPath = .automatic, keys: SCRAMKeyCache = SCRAMKeyCache()) {
        self.path = path
        self.keys = keys
    }

    func plan(for type: ConnectorType, metadata: JSONValue, tenant: String) throws(MetadataError) -> ProbePlan {
        let settings = try PostgresSettings(metadata: metadata)
        if path == .automatic && Self.nativeCovers(settings) {
            let trust = Self.trust(settings)
            let keys = self.keys
            // The key cache's scope: one tenant's credentials for one server and user.
            let scope = Array([tenant, settings.host, String(settings.port), settings.user].joined(separator: "\u{0}").utf8)
            return ProbePlan(host: settings.host, hostAttr: settings.destinationField, driver: "native") { address in
                PostgresNativeProbe(settings: settings, address: address, trust: trust, keys: keys, scope: scope)
            }
        }
        var caFile: TrustFile?
        if let anchors = settings.sslRootCert {
            caFile = try TrustStore.shared.file(for: anchors, field: "sslrootcert")
        } else if settings.sslMode == .verifyCA || settings.sslMode == .verifyFull {
            caFile = TrustFile(unmanaged: TrustStore.systemBundle)
        }
        let trust = caFile
        return ProbePlan(host: settings.host, hostAttr: settings.destinationField, driver: "libpq") { address in
            PostgresProbe(settings: settings, caFile: trust, address: address)
        }
    }

    /// Whether the native path speaks for these credentials: a password SASLprep leaves as it
    /// is (printable ASCII; libpq normalizes anything else before SCRAM).
    static func nativeCovers(_ settings: PostgresSettings) -> Bool {
        settings.password.utf8.allSatisfy { (0x20..<0x7f).contains($0) }
    }

    /// How the native path trusts the server, as libpq would with the same settings: a given CA
    /// is always verified against (even under `require`, as libpq does with a root certificate),
    /// `verify-ca` and `verify-full` without one use the system's CA bundle (the file the libpq
    /// path is given).
    static func trust(_ settings: PostgresSettings) -> TLSTrust {
        let verify = settings.sslRootCert != nil || settings.sslMode == .verifyCA || settings.sslMode == .verifyFull
        return TLSTrust(
            caPEM: settings.sslRootCert.map { Array($0.pemText.utf8) },
            caBundleFile: settings.sslRootCert == nil ? TrustStore.systemBundle : nil, verifyChain: verify)
    }
}

/// Tests PostgreSQL credentials over libpq's non-blocking API: connect (TCP, TLS, startup and
/// authentication) to the resolved address, then one query: `SELECT 1`, or a check that the named
/// schema exists and is usable. ``PostgresProbeMachine`` decides; this class only calls libpq.
final class PostgresProbe: Probe {
    private let settings: PostgresSettings
    private let parameters: [(String, String)]
    private var machine: PostgresProbeMachine
    private var connection: PostgresConnection?
    private var answer: PostgresQueryResult?
    /// The answer of ``passwordExpiryQuery``.
    private var expiry: PostgresQueryResult?

    /// When the role's password stops working, in seconds since 1970: NULL without `VALID UNTIL`.
    static let passwordExpiryQuery = "SELECT extract(epoch FROM rolvaliduntil)::float8 FROM pg_roles WHERE rolname = current_user"

    /// The expiry in an answer of ``passwordExpiryQuery``; nil for none (NULL, `infinity`, an error).
    static func passwordExpiry(_ result: PostgresQueryResult) -> Double? {
        guard result.ok, let text = result.firstValue, let seconds = Double(text), seconds.isFinite else { return nil }
        return seconds
    }
    /// Held until the probe is gone: libpq reads it during the handshake.
    private let caFile: TrustFile?

    init(settings: PostgresSettings, caFile: TrustFile?, address: IPAddress) {
        self.settings = settings
        self.caFile = caFile
        self.machine = PostgresProbeMachine(settings: settings)
        var parameters: [(String, String)] = [
            ("host", settings.host), ("hostaddr", address.description), ("port", String(settings.port)),
            ("dbname", settings.database), ("user", settings.user), ("password", settings.password),
            ("sslmode", settings.sslMode.rawValue), ("gssencmode", "disable"),
            ("channel_binding", settings.sslMode.requiresTLS ? "require" : "prefer"),
            ("application_name", "connector-engine"), ("connect_timeout", "0"),
        ]
        // A probe uses only what it was given: libpq would otherwise read ~/.pgpass and
        // ~/.postgresql/ (a client certificate, a root certificate that turns `require` into
        // verify-ca, a CRL) of the account the engine runs as. Paths that do not exist switch
        // each of those off.
        let nowhere = "/nonexistent/connector-engine"
        parameters += [
            ("passfile", "\(nowhere)/pgpass"), ("sslcert", "\(nowhere)/client.crt"), ("sslkey", "\(nowhere)/client.key"),
            ("sslcrl", "\(nowhere)/root.crl"), ("sslrootcert", caFile?.path ?? "\(nowhere)/root.crt"),
        ]
        self.parameters = parameters
    }

    func start(_ context: ProbeContext) -> ProbeStep {
        let connection = PostgresConnection(parameters: parameters)
        self.connection = connection
        let failed = connection.phase == .failed
        return perform(
            machine.started(
                failed: failed, startErrno: connection.startErrno, sqlState: failed ? connection.errorSQLState : nil,
                needsPassword: failed && connection.needsPassword),
            context)
    }

    func resume(_ context: ProbeContext, events: IOEvents) -> ProbeStep {
        guard let connection else { return .finished(ProbeOutcome(.serverError)) }
        // When the TCP connect just ended, read its errno before libpq does, to classify it exactly.
        let tcpError = connection.phase == .connecting ? SocketState.pendingError(connection.socket) : nil
        return perform(machine.socketReady(tcpError: tcpError), context)
    }

    func close() {
        connection?.finish()
        connection = nil
    }

    /// Carries out actions until one of them waits or finishes.
    private func perform(_ first: PostgresProbeMachine.Action, _ context: ProbeContext) -> ProbeStep {
        guard let connection else { return .finished(ProbeOutcome(.serverError)) }
        var action = first
        while true {
            switch action {
            case .waitReadable: return .wait(fd: connection.socket, events: .readable)
            case .waitWritable: return .wait(fd: connection.socket, events: .writable)
            case .waitReadableOrWritable: return .wait(fd: connection.socket, events: [.readable, .writable])
            case .finish(let outcome): return .finished(outcome)
            case .poll:
                let result = connection.poll()
                let failed = result == .failed
                action = machine.polled(
                    result, phase: connection.phase, sqlState: failed ? connection.errorSQLState : nil,
                    needsPassword: failed && connection.needsPassword)
                context.enter(machine.stage)
            case .sendQuery:
                if let notAfter = connection.peerCertificateNotAfter {
                    context.recordExpiry(.certificateExpires, at: Date(timeIntervalSince1970: Double(notAfter)), attr: nil)
                }
                connection.setNonBlocking()
                let test: String?
                if let schema = settings.schema {
                    test = connection.literal(schema).map { "SELECT has_schema_privilege(current_user, \($0), 'USAGE')" }
                } else {
                    test = "SELECT 1"
                }
                // The test, then when the role's password expires (a warning; its failure is ignored).
                let sent = test.map { connection.sendStatements($0 + "; " + Self.passwordExpiryQuery) } ?? false
                action = machine.querySent(sent, sqlState: sent ? nil : connection.errorSQLState)
            case .flush:
                let result = connection.flush()
                action = machine.flushed(result, sqlState: result == .failed ? connection.errorSQLState : nil)
            case .readResults:
                let inputOK = connection.consumeInput()
                var complete = false
                while inputOK && !connection.isBusy {
                    guard let result = connection.nextResult() else {
                        complete = true
                        break
                    }
                    if answer == nil {
                        answer = result
                    } else if expiry == nil {
                        expiry = result
                    }
                }
                if complete, let seconds = expiry.flatMap(Self.passwordExpiry) {
                    context.recordExpiry(.passwordExpires, at: Date(timeIntervalSince1970: seconds), attr: "password")
                }
                action = machine.read(
                    inputOK: inputOK, complete: complete, answer: answer, sqlState: inputOK ? nil : connection.errorSQLState)
            }
        }
    }
}
