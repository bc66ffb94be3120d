import ConnectorCore
import MariaDBDriver
import ProbeEngine

/// Maps MySQL/MariaDB error numbers (server and Connector/C) to outcomes. Pure: tested without
/// sockets.
public enum MySQLClassifier {
    /// The outcome of error `number` raised in `stage`.
    public static func outcome(errorNumber number: UInt32, sqlState: String, stage: ProbeStage) -> ProbeOutcome {
        let signal = "MySQL error \(number) (SQLSTATE \(sqlState))"
        switch number {
        case MariaDBError.accessDenied, MariaDBError.accessDeniedNoPassword:
            return ProbeOutcome(
                .authFailed, attr: "password", detail: "The server rejected the user name or password.", signal: signal,
                stage: .auth)
        case MariaDBError.passwordExpired, MariaDBError.passwordExpiredLogin:
            return ProbeOutcome(
                .authFailed, attr: "password", detail: "The user's password has expired.",
                hint: "Set a new password for the user.", signal: signal, stage: .auth)
        case MariaDBError.databaseAccessDenied:
            return ProbeOutcome(
                .permissionDenied, attr: "database", detail: "The user has no privilege on this database.",
                hint: "GRANT the user privileges on the database.", signal: signal, stage: .auth)
        case MariaDBError.accountLocked, MariaDBError.mysqlAccountLocked:
            return ProbeOutcome(
                .permissionDenied, attr: "user", detail: "The account is locked.", hint: "Unlock the account.",
                signal: signal, stage: .auth)
        case MariaDBError.hostNotPrivileged, MariaDBError.hostBlocked:
            return ProbeOutcome(
                .permissionDenied, attr: "host", detail: "The server does not accept connections from this engine's address.",
                hint: "Allow the engine's address for this user on the server.", signal: signal, stage: .auth)
        case MariaDBError.badDatabase:
            return ProbeOutcome(
                .notFound, attr: "database", detail: "The database does not exist.", signal: signal, stage: .auth)
        case MariaDBError.tooManyConnections, MariaDBError.tooManyUserConnections, MariaDBError.userLimitReached:
            return ProbeOutcome(.throttled, signal: signal, stage: stage)
        case MariaDBError.sslConnection, MariaDBError.secureTransportRequired, MariaDBError.authPluginError:
            return ProbeOutcome(
                .tlsFailure, attr: "sslEnabled",
                detail: "TLS could not be set up: the server has no TLS, or its certificate or host name did not verify.",
                signal: signal, stage: .tls)
        case MariaDBError.unknownHost:
            return ProbeOutcome(.hostNotFound, attr: "host", signal: signal, stage: .resolve)
        case MariaDBError.connectionError, MariaDBError.connectHostError:
            return ProbeOutcome(.connectionRefused, attr: "port", signal: signal, stage: .connect)
        case MariaDBError.serverLost, MariaDBError.serverGone:
            return ProbeOutcome(
                .serverError, detail: "The server closed the connection during the \(stage.rawValue) stage.", signal: signal,
                stage: stage)
        case MariaDBError.serverHandshake, MariaDBError.malformedPacket, MariaDBError.versionError,
            MariaDBError.authPluginCannotLoad, MariaDBError.handshakeError:
            return ProbeOutcome(
                .protocolError, detail: "The server's handshake could not be understood or completed.", signal: signal,
                stage: stage)
        case MariaDBError.serverShutdown, MariaDBError.outOfResources:
            return ProbeOutcome(.serverError, signal: signal, stage: stage)
        default:
            // 2000-2999 are Connector/C's own errors; everything else comes from the server.
            return ProbeOutcome((2000..<3000).contains(number) ? .protocolError : .serverError, signal: signal, stage: stage)
        }
    }
}
