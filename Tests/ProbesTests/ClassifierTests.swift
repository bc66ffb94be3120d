import ConnectorCore
import PostgresDriver
import ProbeEngine
import Testing

@testable import MariaDBDriver
@testable import Probes

@Suite struct PostgresClassifierTests {
    let params = try! PostgresSettings(metadata: ["host": "db", "port": "5432", "database": "d", "user": "u", "password": "p"])
    let url = try! PostgresSettings(metadata: ["connection_url": "postgresql://u:p@db/d"])

    @Test(
        arguments: [
            ("28P01", OutcomeCode.authFailed, "password"),
            ("28000", .permissionDenied, "user"),
            ("3D000", .notFound, "database"),
            ("42501", .permissionDenied, "database"),
            ("53300", .throttled, nil),
            ("57P03", .serverError, nil),
            ("08P01", .protocolError, nil),
        ] as [(String, OutcomeCode, String?)])
    func startupErrors(_ sqlState: String, _ code: OutcomeCode, _ attr: String?) {
        let outcome = PostgresClassifier.connectFailure(stage: .auth, sqlState: sqlState, needsPassword: false, settings: params)
        #expect(outcome.code == code)
        if let attr { #expect(outcome.attr == attr) }
        #expect(outcome.signal == "SQLSTATE \(sqlState)")
    }

    @Test func urlFormPointsAtTheURL() {
        let outcome = PostgresClassifier.connectFailure(stage: .auth, sqlState: "28P01", needsPassword: false, settings: url)
        #expect(outcome.attr == "connection_url")
    }

    @Test func queryErrorsAboutTheSchema() {
        #expect(PostgresClassifier.serverError("3F000", stage: .query, settings: params).attr == "schema")
        #expect(PostgresClassifier.serverError("3F000", stage: .query, settings: params).code == .notFound)
        #expect(PostgresClassifier.serverError("42501", stage: .query, settings: params).attr == "schema")
    }

    @Test func failuresWithoutSQLStateAreClassifiedByStage() {
        #expect(PostgresClassifier.connectFailure(stage: .tls, sqlState: nil, needsPassword: false, settings: params).code == .tlsFailure)
        #expect(PostgresClassifier.connectFailure(stage: .auth, sqlState: nil, needsPassword: true, settings: params).code == .authFailed)
        #expect(PostgresClassifier.connectFailure(stage: .auth, sqlState: nil, needsPassword: false, settings: params).code == .protocolError)
        #expect(PostgresClassifier.connectFailure(stage: .connect, sqlState: nil, needsPassword: false, settings: params).code == .connectionRefused)
        // Issue 8 §4: with sslmode require or stronger, libpq refuses a login not bound to the TLS
        // channel; that is a TLS verdict on sslmode, not the server's protocol error.
        var required = params
        required.sslMode = .require
        let unbound = PostgresClassifier.connectFailure(stage: .auth, sqlState: nil, needsPassword: false, settings: required)
        #expect(unbound.code == .tlsFailure && unbound.attr == "sslmode" && unbound.stage == .auth)
    }

    /// Issue 8 §4: `sha256_password` fetches the server's RSA key over the connection when there
    /// is no TLS, so it is offered only with TLS.
    @Test func sha256PasswordOnlyOverTLS() {
        #expect(!MariaDBConnection.allowedAuthPlugins(tls: false).contains("sha256_password"))
        #expect(MariaDBConnection.allowedAuthPlugins(tls: true).split(separator: ",").contains("sha256_password"))
        #expect(MariaDBConnection.allowedAuthPlugins(tls: false).split(separator: ",").contains("caching_sha2_password"))
    }

    @Test func phasesMapToStages() {
        #expect(PostgresClassifier.stage(of: .connecting) == .connect)
        #expect(PostgresClassifier.stage(of: .negotiatingTLS) == .tls)
        #expect(PostgresClassifier.stage(of: .authenticating) == .auth)
        #expect(PostgresClassifier.stage(of: .ready) == .query)
    }

    @Test func sqlStateIsReadFromTheTerseMessage() {
        let message = "connection to server at \"localhost\" (127.0.0.1), port 5432 failed: FATAL:  28P01\n"
        #expect(PostgresConnection.sqlState(inErrorMessage: message) == "28P01")
        #expect(PostgresConnection.sqlState(inErrorMessage: "could not connect: Connection refused\n") == nil)
        #expect(PostgresConnection.sqlState(inErrorMessage: "SSL error: certificate verify failed\n") == nil)
        // sslmode=prefer: the TLS attempt's rejected password, then the plain retry's refusal.
        let twoAttempts = "connection to server at \"db\" failed: FATAL:  28P01\nconnection to server at \"db\" failed: FATAL:  28000\n"
        #expect(PostgresConnection.sqlState(inErrorMessage: twoAttempts) == "28P01")
        let retried = "connection to server failed: FATAL:  57P03\nconnection to server failed: FATAL:  3D000\n"
        #expect(PostgresConnection.sqlState(inErrorMessage: retried) == "3D000")
    }
}

@Suite struct MySQLClassifierTests {
    @Test(
        arguments: [
            (UInt32(1045), OutcomeCode.authFailed, "password", ProbeStage.auth),
            (1044, .permissionDenied, "database", .auth),
            (1049, .notFound, "database", .auth),
            (4151, .permissionDenied, "user", .auth),
            (1130, .permissionDenied, "host", .auth),
            (1040, .throttled, nil, .auth),
            (2026, .tlsFailure, "sslEnabled", .tls),
            (2003, .connectionRefused, "port", .connect),
            (2013, .serverError, nil, .auth),
            (2027, .protocolError, nil, .auth),
            (3118, .permissionDenied, "user", .auth),
            (3159, .tlsFailure, "sslEnabled", .tls),
            (4031, .serverError, nil, .auth),
        ] as [(UInt32, OutcomeCode, String?, ProbeStage)])
    func errorNumbers(_ number: UInt32, _ code: OutcomeCode, _ attr: String?, _ stage: ProbeStage) {
        let outcome = MySQLClassifier.outcome(errorNumber: number, sqlState: "28000", stage: .auth)
        #expect(outcome.code == code)
        #expect(outcome.attr == attr)
        #expect(outcome.stage == stage)
        #expect(outcome.signal?.contains("\(number)") == true)
    }
}
