import ConnectorCore
import LinuxIO
import MariaDBDriver
import ProbeEngine

/// Plans MySQL and MariaDB probes from metadata.
struct MySQLProbeDriver: ProbeDriver {
    func plan(for type: ConnectorType, metadata: JSONValue) throws(MetadataError) -> ProbePlan {
        let settings = try MySQLSettings(metadata: metadata)
        var tls: MariaDBTLS?
        if settings.tlsEnabled {
            var caFile: String?
            if let pem = settings.caPEM {
                do {
                    caFile = try TrustStore.shared.file(for: pem)
                } catch {
                    throw MetadataError(attr: "ssl_ca", "'ssl_ca' could not be stored for the driver.")
                }
            }
            tls = MariaDBTLS(
                caFile: caFile, caDirectory: TrustStore.systemDirectory,
                verifyServerCertificate: settings.verifyServerCertificate)
        }
        // Connector/C verifies the certificate against the host it was given and has no way to
        // connect to one address while verifying another name. So a verified TLS connection to a
        // host *name* lets the driver resolve the name itself, on a blocking thread, and the probe
        // checks the address it actually reached against the egress policy before the handshake.
        let verifiesName = tls?.verifyServerCertificate == true && IPAddress(numeric: settings.host) == nil
        let trust = tls
        return ProbePlan(host: settings.host, hostAttr: "host", startsWithBlockingCall: verifiesName) { address in
            MySQLProbe(settings: settings, tls: trust, connectHost: verifiesName ? settings.host : address.description)
        }
    }
}

/// Tests MySQL/MariaDB credentials over Connector/C's non-blocking API: connect (TCP, handshake,
/// TLS and authentication, which the driver does in one call), then `SELECT 1`.
final class MySQLProbe: Probe {
    private enum Phase {
        case connecting, querying, storing
    }

    private let settings: MySQLSettings
    private let tls: MariaDBTLS?
    private let connectHost: String
    private var connection: MariaDBConnection?
    private var phase = Phase.connecting
    private var pending: MariaDBWait = []

    init(settings: MySQLSettings, tls: MariaDBTLS?, connectHost: String) {
        self.settings = settings
        self.tls = tls
        self.connectHost = connectHost
    }

    func start(_ context: ProbeContext) -> ProbeStep {
        let connection = MariaDBConnection(tls: tls)
        self.connection = connection
        connection.suspendedCall = .connect
        let wait = connection.startConnect(
            host: connectHost, port: settings.port, user: settings.user, password: settings.password,
            database: settings.database)
        return next(wait, context)
    }

    func resume(_ context: ProbeContext, events: IOEvents) -> ProbeStep {
        guard let connection else { return .finished(ProbeOutcome(.serverError)) }
        var ready: MariaDBWait = []
        if events.contains(.readable) { ready.insert(.read) }
        if events.contains(.writable) { ready.insert(.write) }
        if !events.isDisjoint(with: [.error, .hangup]) { ready.formUnion(pending.intersection([.read, .write])) }
        if ready.isEmpty { ready = pending.intersection([.read, .write]) }

        if phase == .connecting && context.stage == .connect {
            // The TCP connect ended: read its errno before the driver does, to classify it exactly.
            let error = SocketState.pendingError(connection.socket)
            if error != 0 {
                return .finished(ConnectErrno.outcome(error, hostAttr: "host", portAttr: "port"))
            }
            if let refusal = egressRefusal(context, connection) { return .finished(refusal) }
            context.enter(.auth)
        }
        let wait: MariaDBWait
        switch phase {
        case .connecting: wait = connection.continueConnect(ready)
        case .querying: wait = connection.continueQuery(ready)
        case .storing: wait = connection.continueStoreResult(ready)
        }
        return next(wait, context)
    }

    func close() {
        connection?.close(pending: pending)
        connection = nil
    }

    /// Waits for what the driver asks, or moves to the next call when the current one finished.
    private func next(_ wait: MariaDBWait, _ context: ProbeContext) -> ProbeStep {
        guard let connection else { return .finished(ProbeOutcome(.serverError)) }
        pending = wait
        if !wait.isComplete {
            if phase == .connecting && context.stage == .connect && !wait.contains(.write) {
                // Already connected (no write wait for the TCP connect): the handshake is next.
                if let refusal = egressRefusal(context, connection) { return .finished(refusal) }
                context.enter(.auth)
            }
            var events: IOEvents = []
            if wait.contains(.read) { events.insert(.readable) }
            if wait.contains(.write) { events.insert(.writable) }
            if events.isEmpty { events = .readable }
            return .wait(fd: connection.socket, events: events)
        }
        if connection.errorNumber != 0 {
            return .finished(
                MySQLClassifier.outcome(
                    errorNumber: connection.errorNumber, sqlState: connection.sqlState,
                    stage: phase == .connecting ? (context.stage == .connect ? .connect : .auth) : .query))
        }
        switch phase {
        case .connecting:
            if tls != nil && !connection.usesTLS {
                // Without certificate verification Connector/C quietly goes on without TLS when
                // the server offers none; the user asked for TLS, so that is a failure.
                return .finished(
                    ProbeOutcome(
                        .tlsFailure, attr: "sslEnabled",
                        detail: "The server does not offer TLS; the driver connected without it.",
                        hint: "Enable TLS on the server, or turn on ssl_verify_server_cert so such a server is refused before signing in.",
                        signal: "no TLS cipher after connect", stage: .tls))
            }
            context.enter(.query)
            phase = .querying
            connection.suspendedCall = .query
            return next(connection.startQuery("SELECT 1"), context)
        case .querying:
            phase = .storing
            connection.suspendedCall = .storeResult
            return next(connection.startStoreResult(), context)
        case .storing:
            guard connection.takeResult() else {
                return .finished(ProbeOutcome(.protocolError, detail: "The test query returned no result.", stage: .query))
            }
            return .finished(.ok)
        }
    }

    /// When the driver resolved the name itself, the address it reached must pass the policy.
    private func egressRefusal(_ context: ProbeContext, _ connection: MariaDBConnection) -> ProbeOutcome? {
        guard let peer = SocketState.peerAddress(connection.socket), let reason = context.egress.refusal(for: peer)
        else { return nil }
        return ProbeOutcome(
            .egressDenied, attr: "host",
            detail: "The host resolved to an address this engine may not reach (\(reason)).",
            signal: "\(peer) \(reason)", stage: .connect)
    }
}
