import ConnectorCore
import Foundation
import LinuxIO
import MariaDBDriver
import ProbeEngine

/// Plans MySQL and MariaDB probes from metadata.
struct MySQLProbeDriver: ProbeDriver {
    func plan(for type: ConnectorType, metadata: JSONValue, tenant: String) throws(MetadataError) -> ProbePlan {
        let settings = try MySQLSettings(metadata: metadata)
        var tls: MariaDBTLS?
        var caFile: TrustFile?
        if settings.tlsEnabled {
            if let anchors = settings.trustAnchors {
                caFile = try TrustStore.shared.file(for: anchors, field: "ssl_ca")
            }
            tls = MariaDBTLS(
                caFile: caFile?.path, caDirectory: TrustStore.systemDirectory,
                verifyServerCertificate: settings.verifyServerCertificate)
        }
        let trust = tls
        let held = caFile
        return ProbePlan(host: settings.host, hostAttr: "host", driver: "libmariadb") { address in
            MySQLProbe(settings: settings, tls: trust, caFile: held, address: address)
        }
    }
}

/// Tests MySQL/MariaDB credentials over Connector/C's non-blocking API: connect (TCP, handshake,
/// TLS and authentication, which the driver does in one call), then `SELECT 1`.
/// ``MySQLProbeMachine`` decides; this class only calls the driver.
final class MySQLProbe: Probe {
    private let settings: MySQLSettings
    private let tls: MariaDBTLS?
    /// Held until the probe is gone: the driver reads it during the handshake.
    private let caFile: TrustFile?
    /// The approved address: Connector/C is given the host name (its TLS verification checks the
    /// certificate against it) while its own lookup of that name is pinned to this address.
    private let address: IPAddress
    private var machine: MySQLProbeMachine
    private var connection: MariaDBConnection?

    init(settings: MySQLSettings, tls: MariaDBTLS?, caFile: TrustFile?, address: IPAddress) {
        self.settings = settings
        self.tls = tls
        self.caFile = caFile
        self.address = address
        self.machine = MySQLProbeMachine(tlsRequired: tls != nil)
    }

    func start(_ context: ProbeContext) -> ProbeStep {
        let connection = MariaDBConnection(tls: tls)
        self.connection = connection
        connection.suspendedCall = .connect
        let wait = connection.startConnect(
            host: settings.host, address: address.description, port: settings.port, user: settings.user, password: settings.password,
            database: settings.database)
        return perform(returned(wait, connection, context), context)
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

    private func returned(_ wait: MariaDBWait, _ connection: MariaDBConnection, _ context: ProbeContext) -> MySQLProbeMachine.Action {
        let complete = wait.isComplete
        // An expired password fails the test and is also the warning that says what to do.
        if complete, [MariaDBError.passwordExpired, MariaDBError.passwordExpiredLogin].contains(connection.errorNumber) {
            context.recordExpiry(.passwordExpired, at: nil, attr: "password")
        }
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
                action = returned(wait, connection, context)
            case .startQuery:
                context.enter(.query)
                if let notAfter = connection.peerCertificateNotAfter {
                    context.recordExpiry(.certificateExpires, at: Date(timeIntervalSince1970: Double(notAfter)), attr: nil)
                }
                connection.suspendedCall = .query
                action = returned(connection.startQuery("SELECT 1"), connection, context)
            case .storeResult:
                connection.suspendedCall = .storeResult
                action = returned(connection.startStoreResult(), connection, context)
            }
        }
    }

    /// The driver must have reached the approved address (its lookup is pinned to it). Were it
    /// anywhere else, the verdict is the same whatever happened there: no errno, no address.
    private func egressRefusal(_ context: ProbeContext, _ connection: MariaDBConnection) -> ProbeOutcome? {
        guard SocketState.peerAddress(connection.socket) != address else { return nil }
        return ProbeOutcome(
            .egressDenied, attr: "host", detail: "The driver did not connect to the address this engine approved.",
            signal: "peer differs from the approved address", stage: .connect)
    }
}
