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

    // MARK: The validator's messages

    /// A schema using every keyword the validator enforces, with two alternative forms.
    let schema: JSONValue = [
        "type": "object",
        "properties": [
            "mode": ["type": "string", "enum": ["fast", "safe"]],
            "port": ["type": "integer", "minimum": 1, "maximum": 65535],
            "name": ["type": "string", "minLength": 1],
        ],
        "oneOf": [
            ["required": ["url"], "properties": ["url": ["type": "string"]]],
            ["required": ["host", "user"], "properties": ["host": ["type": "string"], "user": ["type": "string"]]],
        ],
    ]

    private func message(_ metadata: JSONValue) -> MetadataError? {
        do {
            try SchemaValidator(schema: schema).validate(metadata)
            return nil
        } catch {
            return error
        }
    }

    @Test func eachFailureSaysWhatIsWrongWithWhichField() {
        #expect(message(["url": "u"]) == nil)
        #expect(message(["host": "h", "user": "u", "port": 5432, "mode": "fast"]) == nil)
        #expect(message(["url": "u", "mode": "sometimes"]) == MetadataError(attr: "mode", "'mode' must be one of: fast, safe."))
        #expect(message(["url": "u", "port": 0]) == MetadataError(attr: "port", "'port' must be at least 1."))
        #expect(message(["url": "u", "port": 70000]) == MetadataError(attr: "port", "'port' must be at most 65535."))
        #expect(message(["url": "u", "port": .number(1.5)]) == MetadataError(attr: "port", "'port' must be an integer, not a number."))
        #expect(message(["url": "u", "name": ""]) == MetadataError(attr: "name", "'name' must not be empty."))
        #expect(message("text") == MetadataError(attr: nil, "The metadata must be an object, not a string."))
    }

    @Test func anAlternativeNoFormPassesReportsTheFormTheMetadataMeant() {
        // Naming host: the second form, whose missing field is user.
        #expect(message(["host": "h"]) == MetadataError(attr: "user", "'user' is required."))
        // Naming nothing of either: the form with the fewest errors, the first.
        #expect(message(["port": 5432]) == MetadataError(attr: "url", "'url' is required."))
    }
}
