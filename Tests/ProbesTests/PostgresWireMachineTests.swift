import ConnectorCore
import Crypto
import Foundation
import PostgresWire
import ProbeEngine
import Testing

@testable import Probes

/// The native PostgreSQL probe's decisions, fed what a server would say: libpq 15's sslmode
/// attempts and fallbacks, channel binding, each authentication exchange and the test query.
@Suite struct PostgresWireMachineTests {
    static let keys = SCRAMKeys(clientKey: Array(repeating: 1, count: 32), serverKey: Array(repeating: 2, count: 32))
    static let plusHash: [UInt8] = Array(repeating: 9, count: 32)

    static func machine(_ extra: JSONValue = [:], password: String = "pw") -> PostgresWireMachine {
        var metadata: [String: JSONValue] = ["host": "db.example.com", "port": "5432", "database": "d", "user": "u", "password": .string(password)]
        for (key, value) in extra.objectValue ?? [:] { metadata[key] = value }
        let settings = try! PostgresSettings(metadata: .object(metadata))
        return PostgresWireMachine(settings: settings, deriveKeys: { _, _ in keys }, makeNonce: { "N" })
    }

    static func error(_ sqlState: String) -> PostgresBackendMessage {
        .error([UInt8(ascii: "S"): "FATAL", UInt8(ascii: "C"): sqlState])
    }

    /// Connected, TLS set up (sslmode asks for it first), the StartupMessage sent.
    static func throughTLS(_ machine: inout PostgresWireMachine) {
        #expect(machine.start() == .connect)
        #expect(machine.connected(error: 0) == .send(PostgresFrontend.sslRequest))
        #expect(machine.sent() == .readSSLAnswer)
        #expect(machine.sslAnswer(UInt8(ascii: "S")) == .startTLS)
        #expect(machine.stage == .tls)
        let names = PeerNames(alternativeNames: [.dns(Array("db.example.com".utf8))])
        guard case .send(let startup) = machine.handshakeFinished(.done(names: names, endPointHash: plusHash)) else {
            Issue.record("no StartupMessage")
            return
        }
        #expect(startup == PostgresFrontend.startup([("user", "u"), ("database", "d"), ("application_name", "connector-engine")]))
        #expect(machine.stage == .auth)
        #expect(machine.sent() == .readMessages)
    }

    /// The SCRAM exchange the server would run for `binding`; returns the action after SASLFinal.
    static func scram(
        _ machine: inout PostgresWireMachine, offered: [String], binding: SCRAMClient.Binding, signatureOK: Bool = true
    )
        -> PostgresWireMachine.Action
    {
        let client = SCRAMClient(nonce: "N", binding: binding)
        #expect(
            machine.received(.authentication(.sasl(mechanisms: offered)))
                == .send(PostgresFrontend.saslInitialResponse(mechanism: client.mechanism, data: client.firstMessage)))
        let serverFirst = Array("r=NServer,s=c2FsdA==,i=4096".utf8)
        let (final, signature) = client.finalMessage(try! client.parse(serverFirst: serverFirst), keys: keys)
        // The last login message carries the test query and Terminate (one round trip less).
        #expect(
            machine.received(.authentication(.saslContinue(serverFirst)))
                == .send(PostgresFrontend.saslResponse(final) + machine.testQuery + PostgresFrontend.terminate))
        #expect(machine.terminateSent)
        let sent = signatureOK ? signature : signature.map { $0 ^ 1 }
        return machine.received(.authentication(.saslFinal(Array("v=\(Data(sent).base64EncodedString())".utf8))))
    }

    static func verdict(_ action: PostgresWireMachine.Action) -> ProbeOutcome? {
        if case .finish(let outcome) = action { return outcome }
        return nil
    }

    @Test func preferWithSCRAMPlusThenTheTestQuery() throws {
        var machine = Self.machine()
        Self.throughTLS(&machine)
        #expect(Self.scram(&machine, offered: ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"], binding: .tlsServerEndPoint(Self.plusHash)) == .readMessages)
        #expect(machine.received(.authentication(.ok)) == .readMessages)
        #expect(machine.received(.parameterStatus(name: "server_version", value: "15")) == .readMessages)
        #expect(machine.received(.backendKeyData) == .readMessages)
        // The test query went out with the SASLResponse: nothing more to send.
        #expect(machine.received(.readyForQuery(UInt8(ascii: "I"))) == .readMessages)
        #expect(machine.stage == .query)
        #expect(machine.received(.parseComplete) == .readMessages)
        #expect(machine.received(.dataRow(["1"])) == .readMessages)
        #expect(machine.received(.dataRow(["1893456000"])) == .readMessages)
        #expect(machine.received(.readyForQuery(UInt8(ascii: "I"))) == .finish(.ok))
        #expect(machine.passwordExpiry == .some("1893456000"))
    }

    @Test func aWrongServerSignatureIsNotALogin() {
        var machine = Self.machine(["sslmode": "disable"])
        #expect(machine.start() == .connect)
        _ = machine.connected(error: 0)
        let outcome = Self.verdict(Self.scram(&machine, offered: ["SCRAM-SHA-256"], binding: .unsupported, signatureOK: false))
        #expect(outcome?.code == .protocolError && outcome?.stage == .auth)
    }

    @Test func aServerThatSkipsItsSCRAMProofHasNoLogin() {
        var machine = Self.machine(["sslmode": "disable"])
        _ = machine.start()
        _ = machine.connected(error: 0)
        _ = machine.received(.authentication(.sasl(mechanisms: ["SCRAM-SHA-256"])))
        let serverFirst = Array("r=NServer,s=c2FsdA==,i=4096".utf8)
        guard case .send = machine.received(.authentication(.saslContinue(serverFirst))) else {
            Issue.record("no SASLResponse")
            return
        }
        // AuthenticationOk with no SASLFinal: the server never proved it knows the password.
        let outcome = Self.verdict(machine.received(.authentication(.ok)))
        #expect(outcome?.code == .protocolError && outcome?.stage == .auth, "\(String(describing: outcome))")
    }

    @Test func requireRefusesAnyLoginNotBoundToTheChannel() {
        for request in [PostgresAuthentication.md5Password(salt: [1, 2, 3, 4]), .cleartextPassword, .ok, .sasl(mechanisms: ["SCRAM-SHA-256"])] {
            var machine = Self.machine(["sslmode": "require"])
            Self.throughTLS(&machine)
            let outcome = Self.verdict(machine.received(.authentication(request)))
            #expect(outcome?.code == .tlsFailure && outcome?.stage == .auth && outcome?.attr == "sslmode", "\(request)")
        }
        // Bound by SCRAM-SHA-256-PLUS, the login is fine.
        var machine = Self.machine(["sslmode": "require"])
        Self.throughTLS(&machine)
        _ = Self.scram(&machine, offered: ["SCRAM-SHA-256-PLUS"], binding: .tlsServerEndPoint(Self.plusHash))
        #expect(machine.received(.authentication(.ok)) == .readMessages)
    }

    @Test func aServerWithoutTLS() {
        // require: a TLS failure in the tls stage.
        var required = Self.machine(["sslmode": "require"])
        _ = required.start()
        _ = required.connected(error: 0)
        let refused = Self.verdict(required.sslAnswer(UInt8(ascii: "N")))
        #expect(refused?.code == .tlsFailure && refused?.stage == .tls)
        // prefer: on in plaintext, the same connection; the login says "y,," is not possible: n,,.
        var preferred = Self.machine()
        _ = preferred.start()
        _ = preferred.connected(error: 0)
        guard case .send = preferred.sslAnswer(UInt8(ascii: "N")) else {
            Issue.record("expected the StartupMessage")
            return
        }
        #expect(Self.scram(&preferred, offered: ["SCRAM-SHA-256"], binding: .unsupported) == .readMessages)
        // An old server's `E` is final, whatever the mode.
        var old = Self.machine()
        _ = old.start()
        _ = old.connected(error: 0)
        #expect(Self.verdict(old.sslAnswer(UInt8(ascii: "E")))?.code == .tlsFailure)
    }

    @Test func preferRetriesWithoutTLSAfterAFailedHandshakeOrAnErrorBeforeLogin() {
        var machine = Self.machine()
        _ = machine.start()
        _ = machine.connected(error: 0)
        _ = machine.sslAnswer(UInt8(ascii: "S"))
        #expect(machine.handshakeFinished(.failed) == .connect)
        guard case .send(let startup) = machine.connected(error: 0) else {
            Issue.record("expected the StartupMessage at once")
            return
        }
        #expect(startup.first == 0)  // a StartupMessage, not SSLRequest's twin: no TLS this time
        #expect(Self.verdict(machine.received(Self.error("28P01")))?.code == .authFailed)

        // Over TLS, a refusal before login is tried once more in plaintext, then final.
        var refused = Self.machine()
        Self.throughTLS(&refused)
        #expect(refused.received(Self.error("28000")) == .connect)
        _ = refused.connected(error: 0)
        let outcome = Self.verdict(refused.received(Self.error("28000")))
        #expect(outcome?.code == .permissionDenied && outcome?.attr == "user")
    }

    @Test func allowStartsInPlaintextAndRetriesWithTLS() {
        var machine = Self.machine(["sslmode": "allow"])
        _ = machine.start()
        guard case .send = machine.connected(error: 0) else {
            Issue.record("expected the StartupMessage")
            return
        }
        #expect(machine.received(Self.error("28000")) == .connect)
        #expect(machine.connected(error: 0) == .send(PostgresFrontend.sslRequest))
    }

    @Test func anErrorAfterLoginIsFinalAndNamesTheField() {
        var machine = Self.machine()
        Self.throughTLS(&machine)
        _ = Self.scram(&machine, offered: ["SCRAM-SHA-256-PLUS"], binding: .tlsServerEndPoint(Self.plusHash))
        _ = machine.received(.authentication(.ok))
        let missing = Self.verdict(machine.received(Self.error("3D000")))
        #expect(missing?.code == .notFound && missing?.attr == "database" && missing?.stage == .auth)
    }

    @Test func md5AndCleartextSendWhatLibpqSends() {
        var machine = Self.machine(["sslmode": "disable"])
        _ = machine.start()
        _ = machine.connected(error: 0)
        let salt: [UInt8] = [0xde, 0xad, 0xbe, 0xef]
        func hex(_ bytes: some Sequence<UInt8>) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
        let inner = hex(Insecure.MD5.hash(data: Array("pwu".utf8)))
        let expected = "md5" + hex(Insecure.MD5.hash(data: Array(inner.utf8) + salt))
        let pipelined = machine.testQuery + PostgresFrontend.terminate
        #expect(machine.received(.authentication(.md5Password(salt: salt))) == .send(PostgresFrontend.password(Array(expected.utf8)) + pipelined))

        var cleartext = Self.machine(["sslmode": "disable"])
        _ = cleartext.start()
        _ = cleartext.connected(error: 0)
        #expect(cleartext.received(.authentication(.cleartextPassword)) == .send(PostgresFrontend.password(Array("pw".utf8)) + pipelined))
    }

    @Test func verifyFullChecksTheNameAndAnUnverifiedChainIsATLSFailure() {
        var machine = Self.machine(["sslmode": "verify-full"])
        _ = machine.start()
        _ = machine.connected(error: 0)
        _ = machine.sslAnswer(UInt8(ascii: "S"))
        let wrongName = machine.handshakeFinished(
            .done(names: PeerNames(alternativeNames: [.dns(Array("other.example.com".utf8))]), endPointHash: nil))
        #expect(Self.verdict(wrongName)?.code == .tlsFailure && Self.verdict(wrongName)?.stage == .tls)

        var unverified = Self.machine(["sslmode": "verify-ca"])
        _ = unverified.start()
        _ = unverified.connected(error: 0)
        _ = unverified.sslAnswer(UInt8(ascii: "S"))
        let outcome = Self.verdict(unverified.handshakeFinished(.unverified(20)))
        #expect(outcome?.code == .tlsFailure && outcome?.signal == "X509 verify error 20")
    }

    @Test func aDroppedConnectionIsJudgedByWhereItHappened() {
        var answering = Self.machine()
        _ = answering.start()
        _ = answering.connected(error: 0)
        #expect(Self.verdict(answering.lost())?.code == .tlsFailure)

        var authenticating = Self.machine(["sslmode": "disable"])
        _ = authenticating.start()
        _ = authenticating.connected(error: 0)
        let lost = Self.verdict(authenticating.lost())
        #expect(lost?.code == .protocolError && lost?.stage == .auth && lost?.attr == "host")

        var refused = Self.machine()
        _ = refused.start()
        let outcome = Self.verdict(refused.connected(error: 111))
        #expect(outcome?.code == .connectionRefused && outcome?.attr == "port")
    }

    @Test func theSchemaCheckAndItsAnswer() {
        var machine = Self.machine(["sslmode": "disable", "schema": "sales"])
        #expect(String(decoding: machine.testQuery, as: UTF8.self).contains("has_schema_privilege(current_user, $1::text, 'USAGE')"))
        _ = machine.start()
        _ = machine.connected(error: 0)
        _ = machine.received(.authentication(.ok))
        _ = machine.received(.readyForQuery(UInt8(ascii: "I")))
        _ = machine.received(.dataRow(["f"]))
        let denied = Self.verdict(machine.received(.readyForQuery(UInt8(ascii: "I"))))
        #expect(denied?.code == .permissionDenied && denied?.attr == "schema" && denied?.stage == .query)

        var missing = Self.machine(["sslmode": "disable", "schema": "nowhere"])
        _ = missing.start()
        _ = missing.connected(error: 0)
        _ = missing.received(.authentication(.ok))
        _ = missing.received(.readyForQuery(UInt8(ascii: "I")))
        _ = missing.received(Self.error("3F000"))
        let outcome = Self.verdict(missing.received(.readyForQuery(UInt8(ascii: "E"))))
        #expect(outcome?.code == .notFound && outcome?.attr == "schema")
    }

    @Test func noPasswordAndUnknownMethodsAreAuthFailures() {
        var empty = Self.machine(["sslmode": "disable"], password: "")
        _ = empty.start()
        _ = empty.connected(error: 0)
        let none = Self.verdict(empty.received(.authentication(.sasl(mechanisms: ["SCRAM-SHA-256"]))))
        #expect(none?.code == .authFailed && none?.attr == "password")

        var kerberos = Self.machine(["sslmode": "disable"])
        _ = kerberos.start()
        _ = kerberos.connected(error: 0)
        #expect(Self.verdict(kerberos.received(.authentication(.unsupported(code: 7))))?.code == .authFailed)
    }

    @Test func nonASCIIPasswordsGoToLibpq() {
        #expect(PostgresProbeDriver.nativeCovers(try! PostgresSettings(metadata: ["host": "h", "user": "u", "password": "plain-ASCII pw!"])))
        #expect(!PostgresProbeDriver.nativeCovers(try! PostgresSettings(metadata: ["host": "h", "user": "u", "password": "pässword"])))
        #expect(!PostgresProbeDriver.nativeCovers(try! PostgresSettings(metadata: ["host": "h", "user": "u", "password": "tab\there"])))
    }

    @Test func channelBindingOfferedWithoutTLSIsRefusedAsLibpqDoes() {
        var machine = Self.machine(["sslmode": "disable"])
        _ = machine.start()
        _ = machine.connected(error: 0)
        let outcome = Self.verdict(machine.received(.authentication(.sasl(mechanisms: ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"]))))
        #expect(outcome?.code == .protocolError && outcome?.stage == .auth)
    }

    @Test func onlyAnAuthenticationRequestOrAnErrorMayComeBeforeLogin() {
        for message in [PostgresBackendMessage.notice, .parameterStatus(name: "a", value: "b"), .readyForQuery(UInt8(ascii: "I"))] {
            var machine = Self.machine(["sslmode": "disable"])
            _ = machine.start()
            _ = machine.connected(error: 0)
            #expect(Self.verdict(machine.received(message))?.code == .protocolError, "\(message)")
        }
    }

    /// Logged in without TLS (trust), the test query sent.
    static func querying() -> PostgresWireMachine {
        var machine = Self.machine(["sslmode": "disable"])
        _ = machine.start()
        _ = machine.connected(error: 0)
        _ = machine.received(.authentication(.ok))
        _ = machine.received(.readyForQuery(UInt8(ascii: "I")))
        return machine
    }

    @Test func theExpiryQuerysErrorDoesNotFailAGoodLogin() {
        var machine = Self.querying()
        _ = machine.received(.dataRow(["1"]))
        _ = machine.received(Self.error("42501"))
        #expect(machine.received(.readyForQuery(UInt8(ascii: "E"))) == .finish(.ok))
    }

    @Test func anErrorBeforeTheServerLeftIsTheVerdict() {
        var machine = Self.querying()
        _ = machine.received(.error([UInt8(ascii: "S"): "FATAL", UInt8(ascii: "C"): "57P01"]))
        let outcome = Self.verdict(machine.lost())
        #expect(outcome?.signal == "SQLSTATE 57P01" && outcome?.stage == .query)
    }

    @Test func aFloodOfMessagesEndsTheProbe() {
        var machine = Self.machine(["sslmode": "disable"])
        _ = machine.start()
        _ = machine.connected(error: 0)
        _ = machine.received(.authentication(.ok))
        var last = PostgresWireMachine.Action.readMessages
        for _ in 0..<PostgresWireMachine.maxMessages { last = machine.received(.parameterStatus(name: "a", value: "b")) }
        #expect(Self.verdict(last)?.code == .protocolError)
    }

    @Test(arguments: [("user", "u\u{0}replication\u{0}database"), ("database", "d\u{0}options")])
    func aNULInTheUserOrDatabaseIsRefusedNamingTheField(_ field: String, _ value: String) {
        var metadata: [String: JSONValue] = ["host": "h", "user": "u", "password": "p", "database": "d"]
        metadata[field] = .string(value)
        let error = #expect(throws: MetadataError.self) { try PostgresSettings(metadata: .object(metadata)) }
        #expect(error?.attr == field)
    }
}
