import ConnectorCore
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
}
