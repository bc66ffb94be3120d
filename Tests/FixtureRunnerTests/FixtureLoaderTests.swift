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
            connector_metadata: {host: "${HOST}", port: "${PORT}", nested: {list: ["${HOST}-x"]}}
            expect: {status: 403, code: auth_failed, attr: password, stage: auth}
          - name: own id
            connector_id: mariadb|146b0124-b9fc-466f-8e68-098ff60703e8
            connector_metadata: {}
            expect: {status: 200, code: ok}
        """

    @Test func defaultsAndInterpolation() throws {
        let cases = try FixtureLoader.parse(file, file: "x.yaml", environment: ["HOST": "db", "PORT": "5432"])
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
            _ = try FixtureLoader.parse(file, file: "x.yaml", environment: ["HOST": "db"])
            Issue.record("expected an error")
        } catch let error as FixtureError {
            #expect(error.description.contains("x.yaml: first"))
            #expect(error.description.contains("PORT"))
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
}
