import ConnectorCore
import Glibc
import LinuxIO
import PostgresDriver
import ProbeEngine

/// Plans PostgreSQL probes from metadata.
struct PostgresProbeDriver: ProbeDriver {
    func plan(for type: ConnectorType, metadata: JSONValue) throws(MetadataError) -> ProbePlan {
        let settings = try PostgresSettings(metadata: metadata)
        var caFile: String?
        if let pem = settings.sslRootCert {
            do {
                caFile = try TrustStore.shared.file(for: pem)
            } catch {
                throw MetadataError(attr: "sslrootcert", "'sslrootcert' could not be stored for the driver.")
            }
        } else if settings.sslMode == .verifyCA || settings.sslMode == .verifyFull {
            caFile = TrustStore.systemBundle
        }
        let trust = caFile
        return ProbePlan(host: settings.host, hostAttr: settings.destinationField) { address in
            PostgresProbe(settings: settings, caFile: trust, address: address)
        }
    }
}

/// Tests PostgreSQL credentials over libpq's non-blocking API: connect (TCP, TLS, startup and
/// authentication) to the resolved address, then one query: `SELECT 1`, or a check that the named
/// schema exists and is usable.
final class PostgresProbe: Probe {
    private enum Phase {
        case connecting
        case querying(flushed: Bool)
    }

    private let settings: PostgresSettings
    private let parameters: [(String, String)]
    private var connection: PostgresConnection?
    private var phase = Phase.connecting
    private var schemaAnswer: PostgresQueryResult?

    init(settings: PostgresSettings, caFile: String?, address: IPAddress) {
        self.settings = settings
        var parameters: [(String, String)] = [
            ("host", settings.host), ("hostaddr", address.description), ("port", String(settings.port)),
            ("dbname", settings.database), ("user", settings.user), ("password", settings.password),
            ("sslmode", settings.sslMode.rawValue), ("gssencmode", "disable"), ("passfile", "/nonexistent/connector-engine/pgpass"),
            ("application_name", "connector-engine"), ("connect_timeout", "0"),
        ]
        if let caFile { parameters.append(("sslrootcert", caFile)) }
        self.parameters = parameters
    }

    func start(_ context: ProbeContext) -> ProbeStep {
        let connection = PostgresConnection(parameters: parameters)
        let startErrno = errno
        self.connection = connection
        if connection.phase == .failed {
            if [Errno.connectionRefused, Errno.networkUnreachable, Errno.hostUnreachable].contains(startErrno) {
                return .finished(ConnectErrno.outcome(startErrno, hostAttr: settings.destinationField, portAttr: portAttr))
            }
            return .finished(failure(context))
        }
        // libpq: after PQconnectStartParams, wait until the socket is writable, then poll.
        return .wait(fd: connection.socket, events: .writable)
    }

    func resume(_ context: ProbeContext, events: IOEvents) -> ProbeStep {
        guard let connection else { return .finished(ProbeOutcome(.serverError)) }
        switch phase {
        case .connecting:
            if connection.phase == .connecting {
                // The TCP connect ended: read its errno before libpq does, to classify it exactly.
                let error = SocketState.pendingError(connection.socket)
                if error != 0 {
                    return .finished(ConnectErrno.outcome(error, hostAttr: settings.destinationField, portAttr: portAttr))
                }
            }
            let result = connection.poll()
            if let stage = PostgresClassifier.stage(of: connection.phase) { context.enter(stage) }
            switch result {
            case .wantRead: return .wait(fd: connection.socket, events: .readable)
            case .wantWrite: return .wait(fd: connection.socket, events: .writable)
            case .failed: return .finished(failure(context))
            case .ready: return beginQuery(context, connection)
            }
        case .querying(let flushed):
            if !flushed {
                switch connection.flush() {
                case .failed: return .finished(lostConnection())
                case .pending: return .wait(fd: connection.socket, events: [.readable, .writable])
                case .done: phase = .querying(flushed: true)
                }
            }
            guard connection.consumeInput() else { return .finished(lostConnection()) }
            while !connection.isBusy {
                guard let result = connection.nextResult() else { return .finished(verdict()) }
                if schemaAnswer == nil { schemaAnswer = result }
            }
            return .wait(fd: connection.socket, events: .readable)
        }
    }

    func close() {
        connection?.finish()
        connection = nil
    }

    private var portAttr: String {
        settings.destinationField == "host" ? "port" : settings.destinationField
    }

    private func beginQuery(_ context: ProbeContext, _ connection: PostgresConnection) -> ProbeStep {
        context.enter(.query)
        connection.setNonBlocking()
        let sent: Bool
        if let schema = settings.schema {
            sent = connection.sendQuery("SELECT has_schema_privilege(current_user, $1, 'USAGE')", parameters: [schema])
        } else {
            sent = connection.sendQuery("SELECT 1")
        }
        guard sent else { return .finished(lostConnection()) }
        phase = .querying(flushed: false)
        return resume(context, events: .writable)
    }

    private func verdict() -> ProbeOutcome {
        guard let answer = schemaAnswer else { return lostConnection() }
        guard answer.ok else {
            guard let sqlState = answer.sqlState else { return lostConnection() }
            return PostgresClassifier.serverError(sqlState, stage: .query, settings: settings)
        }
        if settings.schema != nil, answer.firstValue != "t" {
            return ProbeOutcome(
                .permissionDenied, attr: "schema", detail: "The user may not use the schema.",
                hint: "GRANT USAGE ON SCHEMA to the user.", signal: "has_schema_privilege = false", stage: .query)
        }
        return .ok
    }

    private func failure(_ context: ProbeContext) -> ProbeOutcome {
        PostgresClassifier.connectFailure(
            stage: context.stage, sqlState: connection?.errorSQLState,
            needsPassword: connection?.needsPassword ?? false, settings: settings)
    }

    private func lostConnection() -> ProbeOutcome {
        if let sqlState = connection?.errorSQLState {
            return PostgresClassifier.serverError(sqlState, stage: .query, settings: settings)
        }
        return ProbeOutcome(.serverError, detail: "The server closed the connection during the test query.", stage: .query)
    }
}
