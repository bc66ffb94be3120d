import ConnectorCore
import Testing

@Suite struct OutcomeTests {
    @Test func statusesFollowTheDesignTable() {
        let expected: [(OutcomeCode, Int)] = [
            (.ok, 200), (.unknownConnector, 400), (.invalidMetadata, 400), (.hostNotFound, 400), (.notFound, 400),
            (.authFailed, 403), (.permissionDenied, 403), (.egressDenied, 403), (.oauthTimeout, 408), (.timeout, 408),
            (.connectionRefused, 500), (.networkUnreachable, 500), (.dnsFailure, 500), (.tlsFailure, 500),
            (.serverError, 500), (.throttled, 500), (.clockSkew, 500), (.protocolError, 500),
        ]
        for (code, status) in expected { #expect(code.status == status, "\(code)") }
        #expect(OutcomeCode.all.count == expected.count)
    }

    @Test func errorTypes() {
        #expect(OutcomeCode.invalidMetadata.errorType == "validation_error")
        #expect(OutcomeCode.authFailed.errorType == "client_error")
        #expect(OutcomeCode.tlsFailure.errorType == "server_error")
    }

    @Test func failureBodyCarriesErrorAndProbe() throws {
        let report = ProbeReport(
            code: .authFailed, stage: .auth, attr: "password", elapsedMilliseconds: 12.5,
            stages: [StageTiming(stage: .connect, milliseconds: 1, ok: true), StageTiming(stage: .auth, milliseconds: 11, ok: false)])
        let body = try #require(report.responseBody.objectValue)
        #expect(body["type"] == "client_error")
        #expect(body["is_valid"] == false)
        let error = try #require(body["errors"].flatMap { if case .array(let items) = $0 { items.first } else { nil } })
        #expect(error["code"] == "auth_failed")
        #expect(error["attr"] == "password")
        let probe = try #require(body["probe"])
        #expect(probe["stage"] == "auth")
        #expect(probe["retryable"] == false)
        #expect(probe["stages"]?["auth"]?["ok"] == false)
        #expect(probe["stages"]?["connect"]?["ok"] == true)
    }

    @Test func successBody() throws {
        let body = try #require(ProbeReport(code: .ok, stage: .query).responseBody.objectValue)
        #expect(body["is_valid"] == true)
        #expect(body["type"] == nil)
        #expect(body["probe"]?["stage"] == .null)
    }
}
