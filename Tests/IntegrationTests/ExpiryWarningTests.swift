import ConnectorAPI
import ConnectorCore
import ConnectorStore
import Foundation
import HealthChecks
import Hummingbird
import HummingbirdTesting
import ProbeEngine
import Probes
import TestSupport
import Testing

extension LiveServiceTests {
    /// Issue 10, expiry warnings: a PostgreSQL role whose password expires in 10 days
    /// (`probe_expiring`, `VALID UNTIL` 10 days after scripts/services.sh started) is valid today,
    /// and every verdict, job result and history entry says when it stops working.
    @Suite struct ExpiryWarningTests {
        static let postgres = "postgresql|6db35f45-be11-4fd5-80c5-85c48183afbb"

        static func metadata(user: String) throws -> JSONValue {
            [
                "host": "127.0.0.1", "port": .string(try LiveServices.value("CE_PG_PORT")),
                "database": .string(try LiveServices.value("CE_PG_DATABASE")),
                "user": .string(user), "password": .string(try LiveServices.value("CE_PG_PASSWORD")),
            ]
        }

        static let mariadb = "mariadb|146b0124-b9fc-466f-8e68-098ff60703e8"

        /// A MariaDB connector of `user` (the accounts share CE_MARIADB_PASSWORD) on the TLS server.
        static func mariadbMetadata(user: String, host: String = "127.0.0.1") throws -> [String: JSONValue] {
            [
                "host": .string(host), "port": .string(try LiveServices.value("CE_MARIADB_PORT")),
                "database": .string(try LiveServices.value("CE_MARIADB_DATABASE")), "user": .string(user),
                "password": .string(try LiveServices.value("CE_MARIADB_PASSWORD")),
            ]
        }

        static func engine(warnDays: Int) throws -> ProbeEngine {
            try ProbeEngine.standard(
                configuration: EngineConfiguration(reactorThreads: 1, blockingThreads: 2, warnWithin: .seconds(warnDays * 86_400)))
        }

        @Test func aPasswordExpiringWithinTheWindowIsAWarningOnAValidVerdict() async throws {
            let engine = try Self.engine(warnDays: 21)
            defer { engine.shutdown() }
            let expiring = await engine.test(
                ProbeRequest(connectorID: Self.postgres, metadata: try Self.metadata(user: try LiveServices.value("CE_PG_EXPIRING_USER"))))
            #expect(expiring.code == .ok)
            let warning = try #require(expiring.warnings.first)
            #expect(expiring.warnings.count == 1)
            #expect(warning.code == .passwordExpires && warning.attr == "password")
            let days = (warning.expiresAt ?? .distantPast).timeIntervalSinceNow / 86_400
            #expect(days > 8 && days <= 10, "expires in \(days) days")
            #expect(expiring.probeJSON["warnings"]?[0]?["code"] == "password_expires")
            // A role without VALID UNTIL has none.
            let plain = await engine.test(
                ProbeRequest(connectorID: Self.postgres, metadata: try Self.metadata(user: try LiveServices.value("CE_PG_USER"))))
            #expect(plain.code == .ok && plain.warnings.isEmpty)
            // With a schema to check, the same warning.
            let withSchema = try Self.metadata(user: try LiveServices.value("CE_PG_EXPIRING_USER")).replacing(["schema": "public"])
            let schema = await engine.test(ProbeRequest(connectorID: Self.postgres, metadata: withSchema))
            #expect(schema.code == .ok && schema.warnings.map(\.code) == [.passwordExpires])
        }

        /// The TLS server's certificate of scripts/services.sh is valid for 30 days from its start:
        /// a warning in a 40-day window, none in the default 21.
        @Test func theServersCertificateExpiryIsAWarningWithinTheWindow() async throws {
            let wide = try Self.engine(warnDays: 40)
            defer { wide.shutdown() }
            let tls = try Self.metadata(user: try LiveServices.value("CE_PG_USER")).replacing(["sslmode": "require"])
            let report = await wide.test(ProbeRequest(connectorID: Self.postgres, metadata: tls))
            #expect(report.code == .ok)
            let warning = try #require(report.warnings.first { $0.code == .certificateExpires })
            let days = (warning.expiresAt ?? .distantPast).timeIntervalSinceNow / 86_400
            #expect(days > 28 && days <= 30, "expires in \(days) days")
            #expect(warning.attr == nil)
            // Without TLS there is no certificate to speak of.
            let plain = tls.replacing(["sslmode": "disable", "port": .string(try LiveServices.value("CE_PG_PLAIN_PORT"))])
            let clear = await wide.test(ProbeRequest(connectorID: Self.postgres, metadata: plain))
            #expect(clear.code == .ok && clear.warnings.isEmpty)
        }

        /// The same for an HTTPS service: the S3 server of scripts/services.sh over TLS.
        @Test func anHTTPSServicesCertificateExpiryIsAWarningWithinTheWindow() async throws {
            let wide = try Self.engine(warnDays: 40)
            defer { wide.shutdown() }
            let metadata: JSONValue = [
                "endpoint_url": .string("https://localhost:\(try LiveServices.value("CE_S3_TLS_PORT"))"),
                "region_name": .string(try LiveServices.value("CE_S3_REGION")), "key": .string(try LiveServices.value("CE_S3_KEY")),
                "secret": .string(try LiveServices.value("CE_S3_SECRET")), "bucket": .string(try LiveServices.value("CE_S3_BUCKET")),
                "ssl_ca": .string(try LiveServices.value("CE_TLS_CA_PEM")),
            ]
            let report = await wide.test(ProbeRequest(connectorID: "minio|c799f6e3-2b57-434e-aaac-b5daa415da19", metadata: metadata))
            #expect(report.code == .ok, "\(report.detail)")
            let warning = try #require(report.warnings.first)
            #expect(report.warnings.count == 1 && warning.code == .certificateExpires)
            let days = (warning.expiresAt ?? .distantPast).timeIntervalSinceNow / 86_400
            #expect(days > 28 && days <= 30, "expires in \(days) days")
            // The default window: nothing to say yet.
            let narrow = try Self.engine(warnDays: 21)
            defer { narrow.shutdown() }
            let quiet = await narrow.test(ProbeRequest(connectorID: "minio|c799f6e3-2b57-434e-aaac-b5daa415da19", metadata: metadata))
            #expect(quiet.code == .ok && quiet.warnings.isEmpty)
        }

        /// The same for MySQL/MariaDB: the TLS server of scripts/services.sh has the same 30-day
        /// certificate; a connection without TLS has none to report.
        @Test func aMariaDBServersCertificateExpiryIsAWarningWithinTheWindow() async throws {
            let wide = try Self.engine(warnDays: 40)
            defer { wide.shutdown() }
            var members = try Self.mariadbMetadata(user: try LiveServices.value("CE_MARIADB_USER"), host: "localhost")
            members["sslEnabled"] = true
            members["ssl_ca"] = .string(try LiveServices.value("CE_TLS_CA_PEM"))
            let tls = JSONValue.object(members)
            let report = await wide.test(ProbeRequest(connectorID: Self.mariadb, metadata: tls))
            #expect(report.code == .ok, "\(report.detail)")
            let warning = try #require(report.warnings.first)
            #expect(report.warnings.count == 1 && warning.code == .certificateExpires && warning.attr == nil)
            let days = (warning.expiresAt ?? .distantPast).timeIntervalSinceNow / 86_400
            #expect(days > 28 && days <= 30, "expires in \(days) days")
            let clear = await wide.test(ProbeRequest(connectorID: Self.mariadb, metadata: tls.replacing(["sslEnabled": false])))
            #expect(clear.code == .ok && clear.warnings.isEmpty)
        }

        /// A Drive connector whose refresh token nears Google's age limit (configured: 7 days for
        /// an app in testing) is valid with a warning naming `refresh_token`; without a limit, or
        /// without a known age, nothing is said.
        @Test func aRefreshTokenNearItsProvidersAgeLimitIsAWarning() async throws {
            var limited = LiveServices.googleEndpoints
            limited.refreshTokenMaxAge = 7 * 86_400
            let engine = try ProbeEngine.standard(
                configuration: EngineConfiguration(reactorThreads: 1, blockingThreads: 2, warnWithin: .seconds(21 * 86_400)), google: limited)
            defer { engine.shutdown() }
            let drive = "gdrive|3ac4b966-9136-4261-944a-bdbfc51cd21c"
            let issued = Date().addingTimeInterval(-5 * 86_400)
            let metadata: JSONValue = [
                "access_token": .string(try LiveServices.value("CE_GOOGLE_OAUTH_ACCESS_TOKEN")),
                "refresh_token": .string(try LiveServices.value("CE_GOOGLE_OAUTH_REFRESH_TOKEN")),
                "refresh_token_issued_at": .number(issued.timeIntervalSince1970.rounded(.down)),
            ]
            let report = await engine.test(ProbeRequest(connectorID: drive, metadata: metadata))
            #expect(report.code == .ok, "\(report.detail)")
            let warning = try #require(report.warnings.first)
            #expect(report.warnings.count == 1 && warning.code == .refreshTokenExpires && warning.attr == "refresh_token")
            let days = (warning.expiresAt ?? .distantPast).timeIntervalSinceNow / 86_400
            #expect(days > 1.9 && days <= 2, "expires in \(days) days")
            #expect(report.probeJSON["warnings"]?[0]?["code"] == "refresh_token_expires")
            // Unknown age: no warning.
            var ageless = metadata.objectValue ?? [:]
            ageless["refresh_token_issued_at"] = nil
            let unknown = await engine.test(ProbeRequest(connectorID: drive, metadata: .object(ageless)))
            #expect(unknown.code == .ok && unknown.warnings.isEmpty)
            // No limit configured (a published app): no warning.
            let unlimited = try LiveServices.engine()
            defer { unlimited.shutdown() }
            let published = await unlimited.test(ProbeRequest(connectorID: drive, metadata: metadata))
            #expect(published.code == .ok && published.warnings.isEmpty)
        }

        /// A MariaDB account whose password expired (`PASSWORD EXPIRE`): the test fails as
        /// auth_failed, and the warning says why, whatever the window.
        @Test func anExpiredMariaDBPasswordFailsWithItsWarning() async throws {
            let engine = try Self.engine(warnDays: 0)
            defer { engine.shutdown() }
            let metadata = JSONValue.object(try Self.mariadbMetadata(user: try LiveServices.value("CE_MARIADB_EXPIRED_USER")))
            let report = await engine.test(ProbeRequest(connectorID: Self.mariadb, metadata: metadata))
            #expect(report.code == .authFailed && report.attr == "password", "\(report.detail)")
            #expect(report.warnings.map(\.code) == [.passwordExpired])
            #expect(report.warnings.first?.expiresAt == nil)
            #expect(report.probeJSON["warnings"]?[0]?["expires_at"] == .null)
            // The account with a current password has no warning.
            let current = metadata.replacing(["user": .string(try LiveServices.value("CE_MARIADB_USER"))])
            let valid = await engine.test(ProbeRequest(connectorID: Self.mariadb, metadata: current))
            #expect(valid.code == .ok && valid.warnings.isEmpty)
        }

        @Test func anExpiryBeyondTheWindowIsNoWarning() async throws {
            let engine = try Self.engine(warnDays: 5)
            defer { engine.shutdown() }
            let report = await engine.test(
                ProbeRequest(connectorID: Self.postgres, metadata: try Self.metadata(user: try LiveServices.value("CE_PG_EXPIRING_USER"))))
            #expect(report.code == .ok && report.warnings.isEmpty)
        }

        @Test func jobResultsAndHistoryCarryTheWarning() async throws {
            let engine = try Self.engine(warnDays: 21)
            defer { engine.shutdown() }
            try await TemporaryStore.with { temporary in
                let connector = try await temporary.store.createConnector(
                    NewConnector(
                        name: "expiring", typeID: Self.postgres, mode: "DATABASE",
                        metadata: try Self.metadata(user: try LiveServices.value("CE_PG_EXPIRING_USER"))),
                    organization: "default", by: temporary.admin.id)
                let dispatcher = BatchDispatcher(checker: StoredConnectorChecker(engine: engine, store: temporary.store))
                let job = HealthJob(organization: "default", owner: temporary.admin.id, requester: "1", total: 1, concurrency: 1, timeout: nil)
                dispatcher.submit(job, connectors: [connector])
                var results: [HealthJobResult] = []
                for await result in job.follow() { results.append(result) }
                let json = try #require(results.first?.json)
                #expect(json["is_valid"] == true && json["warnings"]?[0]?["code"] == "password_expires")
                let history = try await temporary.store.healthHistory(connector: connector.id, organization: "default", page: 1, pageSize: 1)
                #expect(history.checks.first?.warnings[0]?["code"] == "password_expires")
                #expect(history.checks.first?.warnings[0]?["attr"] == "password")
            }
        }
    }
}

extension JSONValue {
    /// This object with `members` put in place of its own of the same names.
    fileprivate func replacing(_ members: [String: JSONValue]) -> JSONValue {
        .object((objectValue ?? [:]).merging(members) { _, new in new })
    }
}
