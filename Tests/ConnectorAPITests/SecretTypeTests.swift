import ConnectorCore
import ConnectorStore
import Foundation
import HTTPTypes
import TestSupport
import Testing

@testable import ConnectorAPI

/// Issue 8 §1: a secret is a string. Sent as a JSON number it is stored as its decimal text and,
/// like any secret, never comes back in clear; other JSON types and the mask itself are refused.
@Suite struct SecretTypeTests {
    /// A number no response may contain.
    static let canary = 739_140_825_573
    static let canaryText = String(canary)

    /// Metadata that passes each family's schema, with every secret a string; hosts never resolve
    /// (`.invalid`) and cloud endpoints are a closed loopback port.
    static func baseMetadata(_ type: ConnectorType) -> JSONValue {
        switch type.family {
        case .postgresql:
            ["host": "db.invalid", "port": "5432", "database": "app", "user": "app", "password": "pw"]
        case .mysql, .mariadb:
            ["host": "db.invalid", "port": "3306", "database": "app", "user": "app", "password": "pw"]
        case .snowflake:
            ["user": "u", "password": "pw", "account": "acct", "database": "d", "schema": "s", "warehouse": "w", "role": "r"]
        case .s3:
            ["key": "AKIAEXAMPLE", "secret": "pw", "endpoint_url": "http://127.0.0.1:1", "region_name": "us-east-1"]
        case .gcs:
            ["json_credentials": "{}", "project_id": "p"]
        case .bigquery:
            ["json_credentials": "{}"]
        case .dropbox:
            ["token": "pw", "refresh_token": "pw", "app_key": "k", "app_secret": "pw"]
        case .googleDrive:
            ["access_token": "pw", "refresh_token": "pw"]
        default:
            // A new family needs its metadata here, or its secrets go unchecked.
            {
                Issue.record("no metadata for the family \(type.family)"); return [:]
            }()
        }
    }

    static var cases: [(String, String)] {
        Catalog.builtin.types.flatMap { type in type.secretFields.sorted().map { (type.id, $0) } }
    }

    static func with(_ metadata: JSONValue, _ field: String, _ value: JSONValue) -> JSONValue {
        guard case .object(var members) = metadata else { return metadata }
        members[field] = value
        return .object(members)
    }

    @Test(arguments: cases)
    func aNumericSecretNeverComesBackInClear(typeID: String, field: String) async throws {
        let type = try #require(Catalog.builtin.type(id: typeID))
        let base = Self.baseMetadata(type)
        let numeric = Self.with(base, field, .number(Double(Self.canary)))
        try await CRUDWorld.run { world in
            var bodies: [(String, String)] = []
            func record(_ what: String, _ result: APIClient.Answer) {
                bodies.append(("\(what) → \(result.status)", result.text))
            }
            func body(_ name: String, _ metadata: JSONValue) -> JSONValue {
                ["connector_id": .string(typeID), "connector_name": .string(name), "connector_metadata": metadata]
            }

            let created = try await world.call(.post, "/connector/", token: world.owner, body: body("numeric", numeric))
            record("create", created)
            let id: String
            if created.status == 201 {
                id = try #require(created.json["id"]?.stringValue)
                // Stored as the number's decimal text: the number still works as the credential.
                let stored = try await world.temporary.store.connector(id: try #require(UUID(uuidString: id)), organization: "default")
                let value = try #require(stored?.metadata[field])
                #expect(value == .string(Self.canaryText) || value.stringValue?.contains(Self.canaryText) == true)
            } else {
                // Only a field whose text must parse (a URL, a key file) may refuse the number.
                #expect(created.status == 400, "\(created.text)")
                let plain = try await world.call(.post, "/connector/", token: world.owner, body: body("numeric", base))
                #expect(plain.status == 201, "\(plain.text)")
                id = try #require(plain.json["id"]?.stringValue)
            }
            record("retrieve", try await world.call(.get, "/connector/\(id)/", token: world.owner))
            record("list", try await world.call(.get, "/connector/", token: world.owner))
            record("page", try await world.call(.get, "/connector/?page=1&page_size=5", token: world.owner))
            record("put", try await world.call(.put, "/connector/\(id)/", token: world.owner, body: body("numeric", numeric)))
            record("patch", try await world.call(.patch, "/connector/\(id)/", token: world.owner, body: ["connector_metadata": numeric]))
            record("retrieve again", try await world.call(.get, "/connector/\(id)/", token: world.owner))
            record("create ?test=true", try await world.call(.post, "/connector/?test=true", token: world.owner, body: body("tested", numeric)))
            record(
                "patch ?test=true",
                try await world.call(.patch, "/connector/\(id)/?test=true", token: world.owner, body: ["connector_metadata": numeric]))
            record("test stored", try await world.call(.post, "/connector/\(id)/test/", token: world.owner))
            record(
                "test unsaved",
                try await world.call(
                    .post, "/test_connectors/", token: world.owner, body: ["connector_id": .string(typeID), "connector_metadata": numeric]))
            for (what, text) in bodies {
                #expect(!text.contains(Self.canaryText), "\(typeID) \(field): \(what) returned the secret: \(text)")
            }
            #expect(bodies.count == 11)
        }
    }

    @Test(arguments: [JSONValue.bool(true), .null, .array(["pw"]), .object(["pw": "pw"]), .number(1.5), .number(1e300)])
    func aSecretOfAnotherTypeIsRefusedNamingTheField(value: JSONValue) async throws {
        try await CRUDWorld.run { world in
            let metadata = Self.with(CRUDWorld.metadata(), "password", value)
            for path in ["/connector/", "/test_connectors/"] {
                let result = try await world.call(
                    .post, path, token: world.owner,
                    body: ["connector_id": .string(CRUDWorld.postgres), "connector_name": "odd", "connector_metadata": metadata])
                #expect(result.status == 400, "\(path): \(result.text)")
                // The CRUD routes name the field by its path in the body; a verdict by its metadata key.
                let attr: JSONValue = path == "/connector/" ? "connector_metadata.password" : "password"
                #expect(result.json["errors"]?[0]?["attr"] == attr, "\(path): \(result.text)")
            }
        }
    }

    /// Issue 8 §3: a CA field holds certificates only, checked when the connector is saved.
    @Test(arguments: [
        ("postgresql|6db35f45-be11-4fd5-80c5-85c48183afbb", "sslrootcert"), ("mysql|db709852-fa51-4aa6-9b91-afc45f111bec", "ssl_ca"),
        ("minio|c799f6e3-2b57-434e-aaac-b5daa415da19", "ssl_ca"),
    ])
    func aCAFieldThatIsNotCertificatesIsRefusedOnSave(typeID: String, field: String) async throws {
        let type = try #require(Catalog.builtin.type(id: typeID))
        let metadata = Self.with(Self.baseMetadata(type), field, "-----BEGIN PRIVATE KEY-----\nQUJD\n-----END PRIVATE KEY-----\n")
        try await CRUDWorld.run { world in
            let result = try await world.call(
                .post, "/connector/", token: world.owner,
                body: ["connector_id": .string(typeID), "connector_name": "ca", "connector_metadata": metadata])
            #expect(result.status == 400, "\(result.text)")
            #expect(result.json["errors"]?[0]?["attr"] == .string("connector_metadata.\(field)"), "\(result.text)")
        }
    }

    @Test func theMaskIsNotANewSecret() async throws {
        try await CRUDWorld.run { world in
            for (field, value) in [("password", ConnectorType.secretMask), ("connection_url", "postgresql://app:********@db.invalid/app")] {
                let metadata: JSONValue = field == "password" ? CRUDWorld.metadata(password: value) : [field: .string(value)]
                let result = try await world.call(
                    .post, "/connector/", token: world.owner,
                    body: ["connector_id": .string(CRUDWorld.postgres), "connector_name": "masked", "connector_metadata": metadata])
                #expect(result.status == 400, "\(result.text)")
                #expect(result.json["errors"]?[0]?["attr"] == .string("connector_metadata.\(field)"), "\(result.text)")
            }
            // On an update the mask still means "keep".
            let id = try await world.create("kept")
            let kept = try await world.call(
                .patch, "/connector/\(id)/", token: world.owner, body: ["connector_metadata": CRUDWorld.metadata(password: ConnectorType.secretMask)])
            #expect(kept.status == 200, "\(kept.text)")
        }
    }
}

extension JSONValue {
    /// The element `index` of an array, or `nil`.
    fileprivate subscript(index: Int) -> JSONValue? {
        guard case .array(let items) = self, items.indices.contains(index) else { return nil }
        return items[index]
    }
}
