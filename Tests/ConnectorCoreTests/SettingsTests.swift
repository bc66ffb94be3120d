import ConnectorCore
import Testing

@Suite struct SettingsTests {
    private func postgresError(_ metadata: JSONValue) -> MetadataError? {
        do {
            _ = try PostgresSettings(metadata: metadata)
            return nil
        } catch {
            return error
        }
    }

    @Test func parsesParams() throws {
        let settings = try PostgresSettings(metadata: [
            "host": "db.local", "port": "6543", "database": "app", "user": "svc", "password": "pw", "schema": "s",
            "sslmode": "verify-full",
        ])
        #expect(settings.host == "db.local")
        #expect(settings.port == 6543)
        #expect(settings.database == "app")
        #expect(settings.schema == "s")
        #expect(settings.sslMode == .verifyFull)
        #expect(settings.passwordField == "password")
    }

    @Test func parsesURLWithEncodedPasswordAndIPv6() throws {
        let settings = try PostgresSettings(metadata: ["connection_url": "postgresql://svc:p%40ss@[::1]:6000/app?sslmode=require"])
        #expect(settings.host == "::1")
        #expect(settings.port == 6000)
        #expect(settings.user == "svc")
        #expect(settings.password == "p@ss")
        #expect(settings.database == "app")
        #expect(settings.sslMode == .require)
        #expect(settings.passwordField == "connection_url")
    }

    @Test(arguments: ["70000", "0", "-1"]) func portOutOfRange(_ port: String) {
        let error = postgresError(["host": "db", "port": .string(port), "database": "d", "user": "u", "password": "p"])
        #expect(error?.attr == "port")
        #expect(error?.detail.contains("65535") == true || error?.detail.contains("number") == true)
    }

    @Test(arguments: ["abc", "54 32", "5432x", "1e3"]) func portNotANumber(_ port: String) {
        let error = postgresError(["host": "db", "port": .string(port), "database": "d", "user": "u", "password": "p"])
        #expect(error?.attr == "port")
        #expect(error?.detail == "'port' must be a number.")
    }

    @Test func blankHostIsMissing() {
        #expect(postgresError(["host": "", "port": "5432", "database": "d", "user": "u", "password": "p"])?.attr == "host")
    }

    @Test func hostListIsRefused() {
        #expect(postgresError(["host": "a,b", "port": "5432", "database": "d", "user": "u", "password": "p"])?.attr == "host")
    }

    @Test func urlUnknownParameterIsNamed() {
        let error = postgresError(["connection_url": "postgresql://u:p@db/app?target_session_attrs=any"])
        #expect(error?.attr == "connection_url")
        #expect(error?.detail.contains("target_session_attrs") == true)
    }

    @Test func errorsNeverEchoTheSecret() {
        let error = postgresError(["connection_url": "postgresql://u:hunter2@db:99999/app"])
        #expect(error?.attr == "connection_url")
        #expect(error?.detail.contains("hunter2") == false)
    }

    @Test func mysqlDefaultsTLSOffAndVerifyOn() throws {
        let settings = try MySQLSettings(metadata: ["host": "db", "port": "3306", "user": "u", "password": "p", "database": ""])
        #expect(settings.tlsEnabled == false)
        #expect(settings.verifyServerCertificate == true)
        #expect(settings.database == nil)
    }

    @Test func mysqlCARequiresPEM() {
        #expect(throws: MetadataError.self) {
            _ = try MySQLSettings(metadata: ["host": "db", "user": "u", "sslEnabled": true, "ssl_ca": "/etc/ssl/ca.pem"])
        }
    }
}

@Suite struct HugeNumberTests {
    @Test(arguments: [1e19, -1e19, 1e300]) func hugeNumbersNeverTrap(_ number: Double) {
        #expect(throws: MetadataError.self) {
            _ = try PostgresSettings(metadata: ["host": "db", "port": .number(number), "database": "d", "user": "u", "password": "p"])
        }
        // A huge number where any string goes is just text.
        let settings = try? MySQLSettings(metadata: ["host": "db", "user": "u", "password": .number(number)])
        #expect(settings?.password.isEmpty == false)
    }
}
