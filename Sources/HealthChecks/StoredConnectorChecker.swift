import ConnectorCore
import ConnectorStore
import Foundation
import Logging
import ProbeEngine

/// Checks stored connectors the one way every caller shares (`connector/{id}/test/`, batch
/// jobs, the scheduler, the CLI): the probe, OAuth tokens it refreshed written back, and the check
/// recorded in the connector's health history.
public struct StoredConnectorChecker: Sendable {
    public let engine: ProbeEngine
    public let store: ConnectorStore
    /// Checks of one OAuth connector run one at a time in this process (refresh and write-back).
    public let oauthSections: KeyedSerializer

    public init(engine: ProbeEngine, store: ConnectorStore, oauthSections: KeyedSerializer = KeyedSerializer()) {
        self.engine = engine
        self.store = store
        self.oauthSections = oauthSections
    }

    /// The connector is gone (deleted while its check waited).
    public struct ConnectorGone: Error {}

    private static let logger = Logger(label: "connector-engine.health")

    /// Checks `connector` and records the verdict (a failure to record it is logged: the verdict
    /// still reaches the caller).
    /// - Parameters:
    ///   - requester: the user (or component) the engine's lookup fairness counts the probe against.
    /// - Throws: ``ConnectorGone``; a store error before the probe ran or while writing back tokens.
    public func check(
        _ connector: StoredConnector, timeout: Duration?, requester: String, trigger: HealthTrigger
    ) async throws -> ProbeReport {
        let report: ProbeReport
        if engine.catalog.type(id: connector.typeID)?.oauth == true {
            report = try await oauthSections.run(connector.id) {
                // Read again inside the section: the check before may have stored new tokens.
                guard let current = try await store.connector(id: connector.id, organization: connector.organizationID) else {
                    throw ConnectorGone()
                }
                let report = await probe(current, timeout: timeout, requester: requester)
                if let tokens = report.refreshedTokens {
                    let stored = try await store.storeRefreshedTokens(
                        tokens, connector: current.id, organization: current.organizationID, expectedVersion: current.version)
                    Self.logger.info("oauth tokens refreshed", metadata: ["oauth.written_back": "\(stored)"])
                }
                return report
            }
        } else {
            report = await probe(connector, timeout: timeout, requester: requester)
        }
        // A cancelled check, or one the engine ended as it shut down, says nothing about the credentials.
        if !Task.isCancelled && !report.wasCutByShutdown {
            do {
                try await store.recordHealthCheck(
                    report, connector: connector.id, organization: connector.organizationID, trigger: trigger, warnings: report.warningsJSON)
            } catch {
                Self.logger.error("health check not recorded", metadata: ["error.type": "\(type(of: error))"])
            }
        }
        return report
    }

    private func probe(_ connector: StoredConnector, timeout: Duration?, requester: String) async -> ProbeReport {
        var request = ProbeRequest(connectorID: connector.typeID, metadata: connector.metadata, timeout: timeout)
        request.tenant = connector.organizationID
        request.requester = requester
        return await engine.test(request)
    }
}
