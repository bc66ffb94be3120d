import ConnectorCore
import MariaDBDriver
import PostgresDriver
import ProbeEngine
import Testing

@testable import Probes

@Suite struct PostgresProbeMachineTests {
    let settings = try! PostgresSettings(metadata: ["host": "db", "port": "5432", "database": "d", "user": "u", "password": "p"])
    let withSchema = try! PostgresSettings(
        metadata: ["host": "db", "port": "5432", "database": "d", "user": "u", "password": "p", "schema": "s"])

    @Test func happyPathWaitsThenQueries() {
        var machine = PostgresProbeMachine(settings: settings)
        #expect(machine.started(failed: false, startErrno: 0, sqlState: nil, needsPassword: false) == .waitWritable)
        #expect(machine.socketReady(tcpError: 0) == .poll)
        #expect(machine.polled(.wantRead, phase: .authenticating, sqlState: nil, needsPassword: false) == .waitReadable)
        #expect(machine.socketReady(tcpError: nil) == .poll)
        #expect(machine.polled(.ready, phase: .ready, sqlState: nil, needsPassword: false) == .sendQuery)
        #expect(machine.querySent(true, sqlState: nil) == .flush)
        #expect(machine.flushed(.done, sqlState: nil) == .readResults)
        #expect(machine.read(inputOK: true, complete: false, answer: nil, sqlState: nil) == .waitReadable)
        #expect(machine.socketReady(tcpError: nil) == .readResults)
        let answer = PostgresQueryResult(ok: true, sqlState: nil, firstValue: "1")
        #expect(machine.read(inputOK: true, complete: true, answer: answer, sqlState: nil) == .finish(.ok))
        #expect(machine.state == .finished)
    }

    @Test func refusedConnectIsClassifiedFromTheSocketError() throws {
        var machine = PostgresProbeMachine(settings: settings)
        _ = machine.started(failed: false, startErrno: 0, sqlState: nil, needsPassword: false)
        let action = machine.socketReady(tcpError: 111)
        let outcome = try #require(action.verdict)
        #expect(outcome.code == .connectionRefused)
        #expect(outcome.attr == "port")
        #expect(outcome.signal == "errno 111")
    }

    @Test func unreachableAtStart() throws {
        var machine = PostgresProbeMachine(settings: settings)
        let action = machine.started(failed: true, startErrno: 101, sqlState: nil, needsPassword: false)
        let outcome = try #require(action.verdict)
        #expect(outcome.code == .networkUnreachable)
    }

    @Test func pendingFlushWaitsForBothDirections() {
        var machine = PostgresProbeMachine(settings: settings)
        _ = machine.started(failed: false, startErrno: 0, sqlState: nil, needsPassword: false)
        _ = machine.polled(.ready, phase: .ready, sqlState: nil, needsPassword: false)
        #expect(machine.flushed(.pending, sqlState: nil) == .waitReadableOrWritable)
        #expect(machine.socketReady(tcpError: nil) == .flush)
    }

    @Test func schemaWithoutUsageIsPermissionDenied() throws {
        var machine = PostgresProbeMachine(settings: withSchema)
        _ = machine.started(failed: false, startErrno: 0, sqlState: nil, needsPassword: false)
        _ = machine.polled(.ready, phase: .ready, sqlState: nil, needsPassword: false)
        let answer = PostgresQueryResult(ok: true, sqlState: nil, firstValue: "f")
        let action = machine.read(inputOK: true, complete: true, answer: answer, sqlState: nil)
        let outcome = try #require(action.verdict)
        #expect(outcome.code == .permissionDenied)
        #expect(outcome.attr == "schema")
    }

    @Test func lostConnectionDuringTheQuery() throws {
        var machine = PostgresProbeMachine(settings: settings)
        _ = machine.started(failed: false, startErrno: 0, sqlState: nil, needsPassword: false)
        _ = machine.polled(.ready, phase: .ready, sqlState: nil, needsPassword: false)
        let action = machine.read(inputOK: false, complete: false, answer: nil, sqlState: nil)
        let outcome = try #require(action.verdict)
        #expect(outcome.code == .serverError)
        #expect(outcome.stage == .query)
    }

    @Test func authFailureAfterPolling() throws {
        var machine = PostgresProbeMachine(settings: settings)
        _ = machine.started(failed: false, startErrno: 0, sqlState: nil, needsPassword: false)
        let action = machine.polled(.failed, phase: .authenticating, sqlState: "28P01", needsPassword: false)
        let outcome = try #require(action.verdict)
        #expect(outcome.code == .authFailed)
        #expect(outcome.attr == "password")
        #expect(outcome.stage == .auth && machine.stage == .auth)
    }

    /// The machine decides the stage from libpq's phase, and keeps the one reached when libpq
    /// reports the connection failed (its phase then names no stage).
    @Test func theStageFollowsLibpqsPhaseAndNeverGoesBack() throws {
        var machine = PostgresProbeMachine(settings: settings)
        _ = machine.started(failed: false, startErrno: 0, sqlState: nil, needsPassword: false)
        #expect(machine.stage == .connect)
        #expect(machine.polled(.wantRead, phase: .negotiatingTLS, sqlState: nil, needsPassword: false) == .waitReadable)
        #expect(machine.stage == .tls)
        _ = machine.polled(.wantWrite, phase: .connected, sqlState: nil, needsPassword: false)
        #expect(machine.stage == .tls)
        let action = machine.polled(.failed, phase: .failed, sqlState: nil, needsPassword: false)
        let outcome = try #require(action.verdict)
        #expect(outcome.stage == .tls)
    }
}

@Suite struct MySQLProbeMachineTests {
    @Test func happyPath() {
        var machine = MySQLProbeMachine(tlsRequired: false)
        #expect(machine.returned(.write, errorNumber: 0, sqlState: "", usesTLS: false, hasResult: false) == .wait(.write))
        #expect(machine.socketReady(.write, tcpError: 0) == .handshakeThenResume(.write))
        #expect(machine.returned(.read, errorNumber: 0, sqlState: "", usesTLS: false, hasResult: false) == .wait(.read))
        #expect(machine.socketReady(.read, tcpError: nil) == .resume(.read))
        #expect(machine.returned([], errorNumber: 0, sqlState: "00000", usesTLS: false, hasResult: false) == .startQuery)
        #expect(machine.returned([], errorNumber: 0, sqlState: "00000", usesTLS: false, hasResult: false) == .storeResult)
        #expect(machine.returned([], errorNumber: 0, sqlState: "00000", usesTLS: false, hasResult: true) == .finish(.ok))
    }

    @Test func connectAlreadyDoneGoesStraightToTheHandshake() {
        var machine = MySQLProbeMachine(tlsRequired: false)
        #expect(machine.returned(.read, errorNumber: 0, sqlState: "", usesTLS: false, hasResult: false) == .handshakeThenWait(.read))
        #expect(machine.tcpConnecting == false)
    }

    @Test func refusedConnect() throws {
        var machine = MySQLProbeMachine(tlsRequired: false)
        _ = machine.returned(.write, errorNumber: 0, sqlState: "", usesTLS: false, hasResult: false)
        let action = machine.socketReady(.write, tcpError: 111)
        let outcome = try #require(action.verdict)
        #expect(outcome.code == .connectionRefused)
        #expect(outcome.stage == .connect)
    }

    /// The handshake's end, as the server's answer decides it: the user's credentials refused
    /// (MySQL error 1045), or TLS asked for but not set up.
    @Test(arguments: [
        (tlsRequired: false, errorNumber: UInt32(1045), sqlState: "28000", code: OutcomeCode.authFailed, stage: ProbeStage.auth),
        (tlsRequired: true, errorNumber: UInt32(0), sqlState: "00000", code: OutcomeCode.tlsFailure, stage: ProbeStage.tls),
    ])
    func theHandshakesAnswerIsTheVerdict(
        _ answer: (tlsRequired: Bool, errorNumber: UInt32, sqlState: String, code: OutcomeCode, stage: ProbeStage)
    ) throws {
        var machine = MySQLProbeMachine(tlsRequired: answer.tlsRequired)
        _ = machine.returned(.read, errorNumber: 0, sqlState: "", usesTLS: false, hasResult: false)
        let action = machine.returned([], errorNumber: answer.errorNumber, sqlState: answer.sqlState, usesTLS: false, hasResult: false)
        let outcome = try #require(action.verdict)
        #expect(outcome.code == answer.code)
        #expect(outcome.stage == answer.stage)
    }

    @Test func queryWithoutResultIsAProtocolError() throws {
        var machine = MySQLProbeMachine(tlsRequired: false)
        _ = machine.returned(.read, errorNumber: 0, sqlState: "", usesTLS: false, hasResult: false)
        _ = machine.returned([], errorNumber: 0, sqlState: "", usesTLS: false, hasResult: false)
        _ = machine.returned([], errorNumber: 0, sqlState: "", usesTLS: false, hasResult: false)
        let action = machine.returned([], errorNumber: 0, sqlState: "", usesTLS: false, hasResult: false)
        let outcome = try #require(action.verdict)
        #expect(outcome.code == .protocolError)
    }
}

extension PostgresProbeMachine.Action {
    /// The outcome when the machine has finished, else nil.
    var verdict: ProbeOutcome? { if case .finish(let outcome) = self { outcome } else { nil } }
}

extension MySQLProbeMachine.Action {
    /// The outcome when the machine has finished, else nil.
    var verdict: ProbeOutcome? { if case .finish(let outcome) = self { outcome } else { nil } }
}
