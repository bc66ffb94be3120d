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
                caFile = try TrustStore.shared.file(for: pem, field: "ssl_ca")
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
/// ``MySQLProbeMachine`` decides; this class only calls the driver.
final class MySQLProbe: Probe {
    private let settings: MySQLSettings
    private let tls: MariaDBTLS?
    private let connectHost: String
    private var machine: MySQLProbeMachine
    private var connection: MariaDBConnection?

    init(settings: MySQLSettings, tls: MariaDBTLS?, connectHost: String) {
        self.settings = settings
        self.tls = tls
        self.connectHost = connectHost
        self.machine = MySQLProbeMachine(tlsRequired: tls != nil)
    }

    func start(_ context: ProbeContext) -> ProbeStep {
        let connection = MariaDBConnection(tls: tls)
        self.connection = connection
        connection.suspendedCall = .connect
        let wait = connection.startConnect(
            host: connectHost, port: settings.port, user: settings.user, password: settings.password,
            database: settings.database)
        return perform(returned(wait, connection), context)
    }

    func resume(_ context: ProbeContext, events: IOEvents) -> ProbeStep {
        guard let connection else { return .finished(ProbeOutcome(.serverError)) }
        var ready: MariaDBWait = []
        if events.contains(.readable) { ready.insert(.read) }
        if events.contains(.writable) { ready.insert(.write) }
        if !events.isDisjoint(with: [.error, .hangup]) || ready.isEmpty {
            ready.formUnion(machine.pending.intersection([.read, .write]))
        }
        // When the TCP connect just ended, read its errno before the driver does.
        let tcpError = machine.phase == .connecting && machine.tcpConnecting ? SocketState.pendingError(connection.socket) : nil
        return perform(machine.socketReady(ready, tcpError: tcpError), context)
    }

    func close() {
        connection?.close(pending: machine.pending)
        connection = nil
    }

    private func returned(_ wait: MariaDBWait, _ connection: MariaDBConnection) -> MySQLProbeMachine.Action {
        let complete = wait.isComplete
        return machine.returned(
            wait, errorNumber: complete ? connection.errorNumber : 0, sqlState: complete ? connection.sqlState : "",
            usesTLS: complete && connection.usesTLS, hasResult: complete && connection.takeResult())
    }

    /// Carries out actions until one of them waits or finishes.
    private func perform(_ first: MySQLProbeMachine.Action, _ context: ProbeContext) -> ProbeStep {
        guard let connection else { return .finished(ProbeOutcome(.serverError)) }
        var action = first
        while true {
            switch action {
            case .wait(let wait):
                var events: IOEvents = []
                if wait.contains(.read) { events.insert(.readable) }
                if wait.contains(.write) { events.insert(.writable) }
                return .wait(fd: connection.socket, events: events.isEmpty ? .readable : events)
            case .finish(let outcome):
                return .finished(outcome)
            case .handshakeThenWait(let wait):
                if let refusal = egressRefusal(context, connection) { return .finished(refusal) }
                context.enter(.auth)
                action = .wait(wait)
            case .handshakeThenResume(let ready):
                if let refusal = egressRefusal(context, connection) { return .finished(refusal) }
                context.enter(.auth)
                action = .resume(ready)
            case .resume(let ready):
                let wait: MariaDBWait
                switch connection.suspendedCall {
                case .connect: wait = connection.continueConnect(ready)
                case .query: wait = connection.continueQuery(ready)
                case .storeResult: wait = connection.continueStoreResult(ready)
                }
                action = returned(wait, connection)
            case .startQuery:
                context.enter(.query)
                connection.suspendedCall = .query
                action = returned(connection.startQuery("SELECT 1"), connection)
            case .storeResult:
                connection.suspendedCall = .storeResult
                action = returned(connection.startStoreResult(), connection)
            }
        }
    }

    /// When the driver resolved the name itself, the address it reached must be one the engine
    /// resolved and approved (a different answer, e.g. DNS rebinding, is refused), checked before
    /// the handshake sends anything.
    private func egressRefusal(_ context: ProbeContext, _ connection: MariaDBConnection) -> ProbeOutcome? {
        guard connectHost != context.address.description else { return nil }
        guard let peer = SocketState.peerAddress(connection.socket) else {
            return ProbeOutcome(
                .egressDenied, attr: "host", detail: "The address the driver connected to could not be checked.",
                signal: "getpeername failed", stage: .connect)
        }
        guard context.approved.contains(peer) else {
            let reason = context.egress.refusal(for: peer) ?? "not among the addresses the engine resolved"
            return ProbeOutcome(
                .egressDenied, attr: "host",
                detail: "The driver reached an address this engine may not use (\(reason)).",
                signal: "\(peer) \(reason)", stage: .connect)
        }
        return nil
    }
}
