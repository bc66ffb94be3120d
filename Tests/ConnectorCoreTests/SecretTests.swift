import ConnectorCore
import Foundation
import Testing

@Suite struct SecretTests {
    let postgres = Catalog.builtin.type(id: "postgresql|6db35f45-be11-4fd5-80c5-85c48183afbb")!
    let mysql = Catalog.builtin.type(id: "mysql|db709852-fa51-4aa6-9b91-afc45f111bec")!
    let stored: JSONValue = ["host": "db.internal", "port": "5432", "database": "app", "user": "svc", "password": "Canary-1"]

    @Test func secretsAreMaskedAndNothingElse() {
        let masked = postgres.masked(stored)
        #expect(masked["password"] == .string(ConnectorType.secretMask))
        #expect(masked["host"] == "db.internal")
        #expect(!"\(masked)".contains("Canary-1"))
    }

    /// A row saved before secrets were normalized may hold a secret of any JSON type.
    @Test(arguments: [JSONValue.number(739_140_825_573), .bool(true), .array(["Canary-3"]), .object(["k": "Canary-3"])])
    func aSecretOfAnyTypeIsMasked(value: JSONValue) {
        for type in Catalog.builtin.types {
            for field in type.secretFields {
                let masked = type.masked([field: value, "connection_url": value])
                #expect(masked[field] == .string(ConnectorType.secretMask), "\(type.id) \(field)")
            }
        }
    }

    @Test func theMaskWithNothingStoredIsRefused() throws {
        let error = try #require(throws: MetadataError.self) {
            try mysql.merging(update: ["host": "db", "password": .string(ConnectorType.secretMask)], stored: ["host": "db"])
        }
        #expect(error.attr == "password")
    }

    @Test(arguments: [-9.223372036854775808e18, 9.007199254740994e15, 1e300])
    func aNumberTooLargeToKeepExactlyIsRefused(number: Double) {
        #expect(throws: MetadataError.self) { try mysql.normalizingSecrets(["password": .number(number)], allowingMask: true) }
    }

    @Test func aNumericSecretBecomesItsDecimalText() throws {
        let normalized = try mysql.normalizingSecrets(["password": 739_140_825_573, "port": 3306], allowingMask: false)
        #expect(normalized["password"] == "739140825573")
        #expect(normalized["port"] == 3306)
    }

    @Test func urlKeepsEverythingButThePassword() throws {
        let masked = postgres.masked(["connection_url": "postgresql://svc:Canary-2@db:5432/app"])
        let url = try #require(masked["connection_url"]?.stringValue)
        #expect(!url.contains("Canary-2"))
        #expect(url.contains("svc:"))
        #expect(url.contains("@db:5432/app"))
    }

    @Test func maskSentBackKeepsTheStoredSecret() throws {
        var update = postgres.masked(stored)
        if case .object(var members) = update {
            members["database"] = "other"
            update = .object(members)
        }
        let merged = try postgres.merging(update: update, stored: stored)
        #expect(merged["password"] == "Canary-1")
        #expect(merged["database"] == "other")
    }

    @Test func newDestinationWithAKeptSecretIsRefused() {
        var update = postgres.masked(stored)
        if case .object(var members) = update {
            members["host"] = "attacker.example"
            update = .object(members)
        }
        do {
            _ = try postgres.merging(update: update, stored: stored)
            Issue.record("a stored password must not follow a new host")
        } catch {
            #expect(error.attr == "password")
            #expect(!error.detail.contains("Canary"))
        }
    }

    @Test func newDestinationWithANewSecretIsFine() throws {
        let update: JSONValue = ["host": "new.example", "port": "5432", "database": "app", "user": "svc", "password": "fresh"]
        #expect(try postgres.merging(update: update, stored: stored)["password"] == "fresh")
    }

    @Test func maskedURLPasswordIsKeptAndGuarded() throws {
        let storedURL: JSONValue = ["connection_url": "postgresql://svc:Canary-3@db:5432/app"]
        let sameDestination = postgres.masked(["connection_url": "postgresql://svc:Canary-3@db:5432/other"])
        let merged = try postgres.merging(update: sameDestination, stored: storedURL)
        #expect(merged["connection_url"]?.stringValue?.contains("Canary-3") == true)
        #expect(merged["connection_url"]?.stringValue?.hasSuffix("/other") == true)
        let moved = postgres.masked(["connection_url": "postgresql://svc:Canary-3@elsewhere:5432/app"])
        #expect(throws: MetadataError.self) { try postgres.merging(update: moved, stored: storedURL) }
    }

    @Test func portChangeCountsAsANewDestination() {
        let stored: JSONValue = ["host": "db", "port": "3306", "user": "u", "password": "Canary-4"]
        let update: JSONValue = ["host": "db", "port": 3307, "user": "u", "password": .string(ConnectorType.secretMask)]
        #expect(throws: MetadataError.self) { try mysql.merging(update: update, stored: stored) }
    }

    /// Issue 8 §4: with the secret kept (sent masked), a change that weakens or re-anchors TLS is
    /// refused, naming the secret; the same change with the secret sent again is accepted.
    static let tlsChanges: [(String, JSONValue, JSONValue, String)] = [
        ("postgresql|6db35f45-be11-4fd5-80c5-85c48183afbb", ["sslmode": "verify-full"], ["sslmode": "disable"], "password"),
        ("postgresql|6db35f45-be11-4fd5-80c5-85c48183afbb", ["sslmode": "verify-full"], ["sslmode": "require"], "password"),
        ("postgresql|6db35f45-be11-4fd5-80c5-85c48183afbb", ["sslmode": "require"], [:], "password"),
        (
            "postgresql|6db35f45-be11-4fd5-80c5-85c48183afbb", ["sslmode": "verify-full", "sslrootcert": "CA one"],
            ["sslmode": "verify-full", "sslrootcert": "CA two"], "password"
        ),
        (
            "postgresql|6db35f45-be11-4fd5-80c5-85c48183afbb", ["sslmode": "verify-full", "sslrootcert": "CA one"], ["sslmode": "verify-full"],
            "password"
        ),
        (
            "postgresql|6db35f45-be11-4fd5-80c5-85c48183afbb", ["connection_url": "postgresql://u:Canary-5@db/app?sslmode=verify-full"],
            ["connection_url": "postgresql://u:********@db/app?sslmode=disable"], "connection_url"
        ),
        ("mysql|db709852-fa51-4aa6-9b91-afc45f111bec", ["sslEnabled": true], ["sslEnabled": false], "password"),
        ("mysql|db709852-fa51-4aa6-9b91-afc45f111bec", ["sslEnabled": true], ["sslEnabled": true, "ssl_verify_server_cert": false], "password"),
        (
            "mariadb|146b0124-b9fc-466f-8e68-098ff60703e8", ["sslEnabled": true, "ssl_ca": "CA one"], ["sslEnabled": true, "ssl_ca": "CA two"],
            "password"
        ),
        ("minio|c799f6e3-2b57-434e-aaac-b5daa415da19", ["ssl_ca": "CA one"], ["ssl_ca": "CA two"], "secret"),
    ]

    @Test(arguments: tlsChanges)
    func aWeakerOrReanchoredChannelNeedsTheSecretAgain(typeID: String, before: JSONValue, after: JSONValue, secret: String) throws {
        let type = try #require(Catalog.builtin.type(id: typeID))
        func metadata(_ secretValue: String, _ tls: JSONValue) -> JSONValue {
            var members = tls.objectValue ?? [:]
            if secret == "connection_url" {
                // The URL carries the secret and the mode; rewrite its password only.
                let url = members[secret]?.stringValue ?? ""
                members[secret] = .string(
                    url.replacingOccurrences(of: "Canary-5", with: secretValue).replacingOccurrences(of: "********", with: secretValue))
            } else {
                for (key, value) in ["host": "db", "port": "5432", "user": "u", "endpoint_url": "https://s3.example"] as [String: JSONValue] {
                    members[key] = value
                }
                members[secret] = .string(secretValue)
            }
            return .object(members)
        }
        let stored = metadata("Canary-5", before)
        let error = try #require(throws: MetadataError.self) {
            try type.merging(update: metadata(ConnectorType.secretMask, after), stored: stored)
        }
        #expect(error.attr == secret)
        #expect(!error.detail.contains("Canary"))
        // Sent again, the secret may go over the new channel; kept without a change, it stays.
        #expect(try type.merging(update: metadata("Canary-6", after), stored: stored) == metadata("Canary-6", after))
        _ = try type.merging(update: metadata(ConnectorType.secretMask, before), stored: stored)
    }

    @Test func aStrongerChannelKeepsTheSecret() throws {
        let stored: JSONValue = ["host": "db", "user": "u", "password": "Canary-7", "sslmode": "require"]
        let update: JSONValue = ["host": "db", "user": "u", "password": .string(ConnectorType.secretMask), "sslmode": "verify-full"]
        #expect(try postgres.merging(update: update, stored: stored)["password"] == "Canary-7")
    }
}
