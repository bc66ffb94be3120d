import ConnectorCore
import FixtureRunner
import Testing

@Suite struct FixtureLoaderTests {
    let file = """
        defaults:
          connector_id: postgresql|6db35f45-be11-4fd5-80c5-85c48183afbb
          timeout: 2.5
        cases:
          - name: first
            connector_metadata: {host: "${CE_HOST}", port: "${CE_PORT}", nested: {list: ["${CE_HOST}-x"]}}
            expect: {status: 403, code: auth_failed, attr: password, stage: auth}
          - name: own id
            connector_id: mariadb|146b0124-b9fc-466f-8e68-098ff60703e8
            connector_metadata: {}
            expect: {status: 200, code: ok}
        """

    @Test func defaultsAndInterpolation() throws {
        let cases = try FixtureLoader.parse(file, file: "x.yaml", environment: ["CE_HOST": "db", "CE_PORT": "5432"])
        #expect(cases.count == 2)
        #expect(cases[0].name == "x.yaml: first")
        #expect(cases[0].connectorID == "postgresql|6db35f45-be11-4fd5-80c5-85c48183afbb")
        #expect(cases[0].metadata["host"] == "db")
        #expect(cases[0].metadata["port"] == "5432")
        #expect(cases[0].metadata["nested"]?["list"] == ["db-x"])
        #expect(cases[0].timeout == .milliseconds(2500))
        #expect(cases[0].expect == Expectation(status: 403, code: "auth_failed", attr: "password", stage: "auth"))
        #expect(cases[1].connectorID == "mariadb|146b0124-b9fc-466f-8e68-098ff60703e8")
    }

    @Test func unsetVariableNamesTheCaseAndVariable() {
        do {
            _ = try FixtureLoader.parse(file, file: "x.yaml", environment: ["CE_HOST": "db"])
            Issue.record("expected an error")
        } catch let error as FixtureError {
            #expect(error.description.contains("x.yaml: first"))
            #expect(error.description.contains("CE_PORT"))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func caseWithoutExpectationIsRefused() {
        #expect(throws: FixtureError.self) {
            _ = try FixtureLoader.parse("cases:\n  - connector_id: a\n", file: "y.yaml", environment: [:])
        }
    }

    @Test func comparisonListsEveryDifference() {
        let report = ProbeReport(code: .timeout, stage: .connect)
        let mismatches = FixtureRun.compare(report, Expectation(status: 403, code: "auth_failed", attr: "password", stage: "auth"))
        #expect(mismatches.count == 4)
        #expect(FixtureRun.compare(report, Expectation(status: 408, code: "timeout", attr: nil, stage: "connect")).isEmpty)
    }

    /// Issue 8 §10: only `CE_*` variables may be read into a fixture.
    @Test func onlyPrefixedVariablesAreInterpolated() throws {
        let text = """
            cases:
              - name: reads the runner's secrets
                connector_id: postgresql|6db35f45-be11-4fd5-80c5-85c48183afbb
                connector_metadata: {host: db, password: "${CONNECTOR_ENGINE_TOKEN}"}
                expect: {status: 200, code: ok}
            """
        let error = try #require(throws: FixtureError.self) {
            try FixtureLoader.parse(text, file: "x.yaml", environment: ["CONNECTOR_ENGINE_TOKEN": "secret-token"])
        }
        #expect(error.description.contains("CE_"))
        #expect(!error.description.contains("secret-token"))
    }

    /// Issue 8 §10: keys that are one JSON key (`1` and `"1"`, which YAML tells apart) are an
    /// error naming the key, not a trap; keys YAML itself sees repeated are refused by the parser.
    @Test(arguments: [
        ("cases:\n  - {name: a, connector_id: x, connector_metadata: {1: a, \"1\": b}, expect: {status: 200, code: ok}}\n", "'1' appears twice"),
        ("cases:\n  - {name: a, connector_id: x, connector_metadata: {true: a, \"true\": b}, expect: {status: 200, code: ok}}\n", "appears twice"),
        ("defaults: {timeout: 1}\ndefaults: {timeout: 2}\ncases: []\n", "duplicated key"),
    ])
    func aDuplicateKeyIsAnError(text: String, message: String) throws {
        let error = try #require(throws: FixtureError.self) { try FixtureLoader.parse(text, file: "dup.yaml", environment: [:]) }
        #expect(error.description.contains(message), "\(error.description)")
        #expect(error.description.contains("dup.yaml"))
    }
}
