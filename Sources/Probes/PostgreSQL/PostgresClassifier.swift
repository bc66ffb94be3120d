import ConnectorCore
import PostgresDriver
import ProbeEngine

/// Maps PostgreSQL's structured signals (SQLSTATE, the libpq phase a failure happened in) to
/// outcomes. Pure: tested without sockets.
public enum PostgresClassifier {
    /// The stage a libpq connection phase belongs to.
    public static func stage(of phase: PostgresConnectionPhase) -> ProbeStage? {
        switch phase {
        case .connecting, .connected: .connect
        case .negotiatingTLS: .tls
        case .authenticating: .auth
        case .ready: .query
        case .failed: nil
        }
    }

    /// The outcome of a connection attempt that failed in `stage`.
    /// - Parameters:
    ///   - sqlState: the server's SQLSTATE, when the server sent an error.
    ///   - needsPassword: libpq's `PQconnectionNeedsPassword`: the server asked for a password and
    ///     none was given.
    public static func connectFailure(
        stage: ProbeStage, sqlState: String?, needsPassword: Bool, settings: PostgresSettings
    ) -> ProbeOutcome {
        if let sqlState {
            return serverError(sqlState, stage: .auth, settings: settings)
        }
        if needsPassword {
            return ProbeOutcome(
                .authFailed, attr: settings.passwordField, detail: "The server asks for a password and none was given.",
                signal: "PQconnectionNeedsPassword", stage: .auth)
        }
        switch stage {
        case .auth where settings.sslMode.requiresTLS:
            // libpq refused to log in without channel binding (md5, cleartext or SCRAM without
            // -PLUS, none of which ties the login to the TLS channel); the password was not sent.
            return ProbeOutcome(
                .tlsFailure, attr: "sslmode",
                detail: "The server did not bind the login to the TLS channel (SCRAM-SHA-256-PLUS), so the password was not sent.",
                hint: "Store the user's password as SCRAM-SHA-256 on the server, or use a weaker sslmode knowingly.",
                signal: "libpq failure in authentication with channel_binding=require", stage: .auth)
        case .tls:
            return ProbeOutcome(
                .tlsFailure, attr: "sslmode",
                detail: "TLS could not be set up: the server has no TLS, or its certificate or host name did not verify.",
                signal: "libpq failure in TLS negotiation", stage: .tls)
        case .connect, .resolve, .validate:
            return ProbeOutcome(
                .connectionRefused, attr: settings.destinationField, signal: "libpq failure while connecting",
                stage: .connect)
        default:
            return ProbeOutcome(
                .protocolError, attr: settings.destinationField,
                detail: "The server broke off or answered something other than the PostgreSQL protocol.",
                signal: "libpq failure without SQLSTATE", stage: stage)
        }
    }

    /// The outcome of an error the server reported with `sqlState`.
    public static func serverError(_ sqlState: String, stage: ProbeStage, settings: PostgresSettings) -> ProbeOutcome {
        let signal = "SQLSTATE \(sqlState)"
        switch sqlState {
        case "28P01":
            return ProbeOutcome(
                .authFailed, attr: settings.passwordField,
                detail: "PostgreSQL rejected the user name or password.", signal: signal, stage: .auth)
        case "28000":
            return ProbeOutcome(
                .permissionDenied, attr: settings.userField,
                detail: "PostgreSQL does not let this user log in from here (pg_hba.conf or NOLOGIN).",
                hint: "Allow the user to log in, or use another user.", signal: signal, stage: .auth)
        case "3D000":
            return ProbeOutcome(
                .notFound, attr: settings.databaseField, detail: "The database does not exist.", signal: signal,
                stage: .auth)
        case "42501" where stage == .auth:
            return ProbeOutcome(
                .permissionDenied, attr: settings.databaseField,
                detail: "The user may not connect to this database (no CONNECT privilege).",
                hint: "GRANT CONNECT ON DATABASE to the user.", signal: signal, stage: .auth)
        case "42501":
            return ProbeOutcome(
                .permissionDenied, attr: "schema", detail: "The user may not use the schema.",
                hint: "GRANT USAGE ON SCHEMA to the user.", signal: signal, stage: stage)
        case "3F000":
            return ProbeOutcome(.notFound, attr: "schema", detail: "The schema does not exist.", signal: signal, stage: stage)
        case "53300", "53400":
            return ProbeOutcome(
                .throttled, detail: "The server has no connection slot free.", signal: signal, stage: stage)
        case "57P03", "57P01", "57P02", "57P04", "58000", "58030", "XX000", "XX001", "XX002":
            return ProbeOutcome(.serverError, signal: signal, stage: stage)
        case "08P01", "0A000":
            return ProbeOutcome(.protocolError, signal: signal, stage: stage)
        default:
            if sqlState.hasPrefix("28") {
                return ProbeOutcome(.authFailed, attr: settings.passwordField, signal: signal, stage: .auth)
            }
            if sqlState.hasPrefix("53") { return ProbeOutcome(.throttled, signal: signal, stage: stage) }
            return ProbeOutcome(.serverError, signal: signal, stage: stage)
        }
    }
}
