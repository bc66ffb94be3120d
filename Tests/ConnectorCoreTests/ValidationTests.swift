import ConnectorCore
import Testing

@Suite struct ValidationTests {
    let postgres = Catalog.builtin.type(id: "postgresql|6db35f45-be11-4fd5-80c5-85c48183afbb")!
    let mariadb = Catalog.builtin.type(id: "mariadb|146b0124-b9fc-466f-8e68-098ff60703e8")!

    private func failure(_ type: ConnectorType, _ metadata: JSONValue) -> MetadataError? {
        do {
            try type.validate(metadata)
            return nil
        } catch {
            return error
        }
    }

    @Test func paramsFormPassesWithoutConnectorName() {
        let metadata: JSONValue = ["host": "db", "port": "5432", "database": "d", "user": "u", "password": "p"]
        #expect(failure(postgres, metadata) == nil)
    }

    @Test func missingHostNamesHost() {
        let metadata: JSONValue = ["port": "5432", "database": "d", "user": "u", "password": "p"]
        #expect(failure(postgres, metadata)?.attr == "host")
    }

    @Test func urlFormPasses() {
        #expect(failure(postgres, ["connection_url": "postgresql://u:p@db:5432/d"]) == nil)
    }

    @Test func wrongTypeNamesTheField() {
        let metadata: JSONValue = ["host": "db", "port": "3306", "database": "d", "user": "u", "password": "p", "sslEnabled": "yes"]
        let error = failure(mariadb, metadata)
        #expect(error?.attr == "sslEnabled")
    }

    @Test func numberAcceptedForStringPort() {
        let metadata: JSONValue = ["host": "db", "port": 3306, "database": "d", "user": "u", "password": "p"]
        #expect(failure(mariadb, metadata) == nil)
    }

    @Test func metadataMustBeAnObject() {
        #expect(failure(postgres, ["a", "b"])?.attr == "connector_metadata")
    }

    @Test func enumIsChecked() {
        let metadata: JSONValue = [
            "host": "db", "port": "5432", "database": "d", "user": "u", "password": "p", "sslmode": "sometimes",
        ]
        #expect(failure(postgres, metadata)?.attr == "sslmode")
    }
}
