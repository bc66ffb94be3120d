import ConnectorCore
import CryptoExtras
import Foundation
import ProbeEngine
import Probes
import Testing

extension LiveServiceTests {
    /// A batch of Google probes fetches one token per account, whatever the concurrency.
    @Suite struct GoogleTokenCacheTests {
        static func tokenRequests(_ account: String) throws -> Int {
            let url = try URL(string: LiveServices.value("CE_GOOGLE_API_URL") + "/_stats")!
            let data = try Data(contentsOf: url)
            let stats = try JSONValue.parse(data)
            guard case .number(let count)? = stats["service_accounts"]?[account]?["token_requests"] else { return -1 }
            return Int(count)
        }

        @Test func aBatchFetchesOneTokenPerAccount() async throws {
            let account = try LiveServices.value("CE_GOOGLE_SA_OK_EMAIL")
            let metadata: JSONValue = [
                "json_credentials": .string(try LiveServices.value("CE_GOOGLE_SA_OK_JSON")),
                "project_id": .string(try LiveServices.value("CE_BQ_PROJECT")), "bucket": .string(try LiveServices.value("CE_GCS_BUCKET")),
            ]
            let before = try Self.tokenRequests(account)
            let engine = try LiveServices.engine()
            defer { engine.shutdown() }
            let requests = Array(
                repeating: ProbeRequest(connectorID: "google_cloud_storage|109bbe7b-8861-45eb-8841-7244e833d97b", metadata: metadata),
                count: 60)
            var codes: [OutcomeCode] = []
            for await (_, report) in engine.testAll(requests, concurrency: 30) { codes.append(report.code) }
            #expect(codes.count == 60 && codes.allSatisfy { $0 == .ok })
            #expect(try Self.tokenRequests(account) - before == 1)
        }

        static let gcs = "google_cloud_storage|109bbe7b-8861-45eb-8841-7244e833d97b"

        static func metadata(credentials: String) throws -> JSONValue {
            [
                "json_credentials": .string(credentials), "project_id": .string(try LiveServices.value("CE_BQ_PROJECT")),
                "bucket": .string(try LiveServices.value("CE_GCS_BUCKET")),
            ]
        }

        /// A key file naming the victim's public `client_email` and `private_key_id` but signed by
        /// a key of the caller's own must not be served the victim's cached token: it fetches a
        /// token itself, and Google refuses the assertion.
        @Test func anotherKeyForTheSameAccountFetchesItsOwnTokenAndFails() async throws {
            let account = try LiveServices.value("CE_GOOGLE_SA_OK_EMAIL")
            let genuine = try LiveServices.value("CE_GOOGLE_SA_OK_JSON")
            guard case .object(var forged) = try JSONValue.parse(Data(genuine.utf8)) else { throw CancellationError() }
            forged["private_key"] = .string(try _RSA.Signing.PrivateKey(keySize: .bits2048).pkcs8PEMRepresentation)
            let engine = try LiveServices.engine()
            defer { engine.shutdown() }

            let before = try Self.tokenRequests(account)
            let first = await engine.test(ProbeRequest(connectorID: Self.gcs, metadata: try Self.metadata(credentials: genuine), tenant: "victim"))
            #expect(first.code == .ok)
            #expect(try Self.tokenRequests(account) - before == 1)

            for tenant in ["victim", "attacker"] {
                let attempt = await engine.test(
                    ProbeRequest(
                        connectorID: Self.gcs,
                        metadata: try Self.metadata(credentials: String(decoding: JSONValue.object(forged).serialized(), as: UTF8.self)),
                        tenant: tenant))
                #expect(attempt.code == .authFailed, "tenant \(tenant)")
            }
            #expect(try Self.tokenRequests(account) - before == 3)
        }

        /// The same genuine key used by two organizations is two cache entries: a token is never
        /// handed across tenants.
        @Test func tenantsDoNotShareTokens() async throws {
            let account = try LiveServices.value("CE_GOOGLE_SA_OK_EMAIL")
            let metadata = try Self.metadata(credentials: try LiveServices.value("CE_GOOGLE_SA_OK_JSON"))
            let engine = try LiveServices.engine()
            defer { engine.shutdown() }
            let before = try Self.tokenRequests(account)
            for tenant in ["org-a", "org-b", "org-a", "org-b"] {
                #expect(await engine.test(ProbeRequest(connectorID: Self.gcs, metadata: metadata, tenant: tenant)).code == .ok)
            }
            #expect(try Self.tokenRequests(account) - before == 2)
        }
    }
}
