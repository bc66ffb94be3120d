import ConnectorCore
import MariaDBDriver
import ProbeEngine

/// The decisions of a MySQL/MariaDB probe as a pure state machine over Connector/C's
/// non-blocking calls: connect, then `SELECT 1`, then read its result. The probe feeds in what
/// each call returned and performs the action that comes out; no I/O, tested without sockets.
struct MySQLProbeMachine {
    enum Phase: Equatable {
        case connecting, querying, storing, finished
    }

    enum Action: Equatable {
        /// Wait for the socket, then resume the suspended call with what became ready.
        case wait(MariaDBWait)
        /// The TCP connect is done: check the peer against the egress policy, enter the handshake
        /// stage, then wait for `wait`.
        case handshakeThenWait(MariaDBWait)
        /// The TCP connect is done: check the peer, enter the handshake stage, then resume the
        /// connect with `ready`.
        case handshakeThenResume(MariaDBWait)
        /// Resume the suspended call now with `ready`.
        case resume(MariaDBWait)
        case startQuery
        case storeResult
        case finish(ProbeOutcome)
    }

    /// Whether the user asked for TLS.
    let tlsRequired: Bool
    private(set) var phase = Phase.connecting
    /// Whether the TCP connect is still under way.
    private(set) var tcpConnecting = true
    private(set) var pending: MariaDBWait = []

    init(tlsRequired: Bool) {
        self.tlsRequired = tlsRequired
    }

    /// A driver call returned `wait`. When it completed, `errorNumber`, `sqlState`, `usesTLS` and
    /// `hasResult` describe the outcome.
    mutating func returned(
        _ wait: MariaDBWait, errorNumber: UInt32, sqlState: String, usesTLS: Bool, hasResult: Bool
    ) -> Action {
        pending = wait
        if !wait.isComplete {
            if phase == .connecting && tcpConnecting && !wait.contains(.write) {
                // Nothing to wait for on the TCP connect: it is done, the handshake is next.
                tcpConnecting = false
                return .handshakeThenWait(wait)
            }
            return .wait(wait)
        }
        if errorNumber != 0 {
            let stage: ProbeStage = phase == .connecting ? (tcpConnecting ? .connect : .auth) : .query
            return finish(MySQLClassifier.outcome(errorNumber: errorNumber, sqlState: sqlState, stage: stage))
        }
        switch phase {
        case .connecting:
            if tlsRequired && !usesTLS {
                // Without certificate verification Connector/C quietly goes on without TLS when
                // the server offers none; the user asked for TLS, so that is a failure.
                return finish(
                    ProbeOutcome(
                        .tlsFailure, attr: "sslEnabled", detail: "The server does not offer TLS; the driver connected without it.",
                        hint: "Enable TLS on the server, or turn on ssl_verify_server_cert so such a server is refused before signing in.",
                        signal: "no TLS cipher after connect", stage: .tls))
            }
            phase = .querying
            return .startQuery
        case .querying:
            phase = .storing
            return .storeResult
        case .storing:
            guard hasResult else {
                return finish(ProbeOutcome(.protocolError, detail: "The test query returned no result.", stage: .query))
            }
            return finish(.ok)
        case .finished:
            return finish(ProbeOutcome(.serverError))
        }
    }

    /// The socket reported `ready`. `tcpError` is the socket's pending error when the TCP connect
    /// just ended (read before the driver reads it).
    mutating func socketReady(_ ready: MariaDBWait, tcpError: Int32?) -> Action {
        if phase == .connecting && tcpConnecting {
            if let tcpError, tcpError != 0 {
                return finish(ConnectErrno.outcome(tcpError, hostAttr: "host", portAttr: "port"))
            }
            tcpConnecting = false
            return .handshakeThenResume(ready)
        }
        return .resume(ready)
    }

    private mutating func finish(_ outcome: ProbeOutcome) -> Action {
        phase = .finished
        return .finish(outcome)
    }
}
