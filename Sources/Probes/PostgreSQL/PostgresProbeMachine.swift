import ConnectorCore
import PostgresDriver
import ProbeEngine

/// The decisions of a PostgreSQL probe as a pure state machine: the probe feeds in what libpq and
/// the socket reported and performs the action that comes out. No I/O, so every path is tested
/// without sockets.
struct PostgresProbeMachine {
    enum State: Equatable {
        case starting
        case connecting
        case querying(flushed: Bool)
        case finished
    }

    enum Action: Equatable {
        case waitReadable
        case waitWritable
        case waitReadableOrWritable
        /// Call `PQconnectPoll`.
        case poll
        /// Switch to non-blocking sends and send the test query.
        case sendQuery
        /// Call `PQflush`.
        case flush
        /// Read input and collect finished results.
        case readResults
        case finish(ProbeOutcome)
    }

    let settings: PostgresSettings
    private(set) var state = State.starting
    /// The stage the connection has reached, from libpq's phase (the shell reports it).
    private(set) var stage = ProbeStage.connect

    init(settings: PostgresSettings) {
        self.settings = settings
    }

    /// `PQconnectStartParams` returned. On failure, `startErrno` is the errno right after it.
    mutating func started(failed: Bool, startErrno: Int32, sqlState: String?, needsPassword: Bool) -> Action {
        guard failed else {
            state = .connecting
            return .waitWritable  // libpq: wait for writability, then poll
        }
        if ConnectErrno.isConnectFailure(startErrno) {
            return finish(ConnectErrno.outcome(startErrno, hostAttr: settings.destinationField, portAttr: portAttr))
        }
        return finish(PostgresClassifier.connectFailure(stage: .connect, sqlState: sqlState, needsPassword: needsPassword, settings: settings))
    }

    /// The socket is ready while connecting. `tcpError` is the socket's pending error when the
    /// TCP connect just ended (read before libpq reads it), else `nil`.
    mutating func socketReady(tcpError: Int32?) -> Action {
        switch state {
        case .connecting:
            if let tcpError, tcpError != 0 {
                return finish(ConnectErrno.outcome(tcpError, hostAttr: settings.destinationField, portAttr: portAttr))
            }
            return .poll
        case .querying(let flushed):
            return flushed ? .readResults : .flush
        case .starting, .finished:
            return finish(ProbeOutcome(.serverError, detail: "The probe was resumed in a state that expects nothing."))
        }
    }

    /// `PQconnectPoll` returned `result` with the connection in `phase` (libpq's status), which
    /// moves ``stage`` on; `sqlState` and `needsPassword` matter only when it failed, in the
    /// stage reached.
    mutating func polled(_ result: PostgresPollResult, phase: PostgresConnectionPhase, sqlState: String?, needsPassword: Bool) -> Action {
        if let reached = PostgresClassifier.stage(of: phase), reached > stage { stage = reached }
        switch result {
        case .wantRead: return .waitReadable
        case .wantWrite: return .waitWritable
        case .ready:
            state = .querying(flushed: false)
            return .sendQuery
        case .failed:
            return finish(PostgresClassifier.connectFailure(stage: stage, sqlState: sqlState, needsPassword: needsPassword, settings: settings))
        }
    }

    /// The test query was (or could not be) queued.
    mutating func querySent(_ sent: Bool, sqlState: String?) -> Action {
        sent ? .flush : finish(lostConnection(sqlState))
    }

    /// `PQflush` returned.
    mutating func flushed(_ result: PostgresFlushResult, sqlState: String?) -> Action {
        switch result {
        case .failed: return finish(lostConnection(sqlState))
        case .pending: return .waitReadableOrWritable
        case .done:
            state = .querying(flushed: true)
            return .readResults
        }
    }

    /// Input was read: `inputOK` is `PQconsumeInput`'s verdict, `complete` whether every result
    /// arrived, `answer` the first result.
    mutating func read(inputOK: Bool, complete: Bool, answer: PostgresQueryResult?, sqlState: String?) -> Action {
        guard inputOK else { return finish(lostConnection(sqlState)) }
        guard complete else { return .waitReadable }
        return finish(verdict(answer, sqlState: sqlState))
    }

    private var portAttr: String {
        settings.destinationField == "host" ? "port" : settings.destinationField
    }

    private mutating func finish(_ outcome: ProbeOutcome) -> Action {
        state = .finished
        return .finish(outcome)
    }

    private func verdict(_ answer: PostgresQueryResult?, sqlState: String?) -> ProbeOutcome {
        guard let answer else { return lostConnection(sqlState) }
        guard answer.ok else {
            guard let state = answer.sqlState else { return lostConnection(sqlState) }
            return PostgresClassifier.serverError(state, stage: .query, settings: settings)
        }
        if settings.schema != nil, answer.firstValue != "t" {
            return ProbeOutcome(
                .permissionDenied, attr: "schema", detail: "The user may not use the schema.",
                hint: "GRANT USAGE ON SCHEMA to the user.", signal: "has_schema_privilege = false", stage: .query)
        }
        return .ok
    }

    private func lostConnection(_ sqlState: String?) -> ProbeOutcome {
        if let sqlState { return PostgresClassifier.serverError(sqlState, stage: .query, settings: settings) }
        return ProbeOutcome(.serverError, detail: "The server closed the connection during the test query.", stage: .query)
    }
}
