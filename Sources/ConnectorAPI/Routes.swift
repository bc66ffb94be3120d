import ConnectorCore
import ConnectorStore
import Foundation
import HealthChecks
import Hummingbird
import Logging
import OAuthFlow
import ProbeEngine

/// The routes of DESIGN §3 that exist so far: catalog, schema, credential tests, connectors,
/// workflows, notifications, health.
struct ConnectorRoutes: Sendable {
    let engine: ProbeEngine
    let store: ConnectorStore
    let maxBodyBytes: Int
    /// The public base URL for absolute links, if configured.
    let publicURL: String?
    /// The OAuth flow and its token cache.
    let oauth: OAuthFlowService
    /// A frontend's OAuth status page, if configured.
    let oauthStatusURL: String?
    /// Test caps, checks of stored connectors, health jobs and their dispatcher.
    let health: HealthRuntime
    let metrics: APIMetrics
    /// What `/readyz` asks besides the store and the engine (Redis, when it holds the OAuth cache).
    let readinessProbes: [ReadinessProbe]
    let rendered = RenderedConnectors()

    var admission: TestAdmission { health.admission }
    /// Checks of stored connectors: the probe, OAuth write-back, the health history.
    var checker: StoredConnectorChecker { health.checker }
    /// Runs the checks of health jobs.
    var batch: BatchDispatcher { health.dispatcher }
    /// The health jobs of this replica.
    var jobs: HealthJobs { health.jobs }

    var catalog: Catalog { engine.catalog }

    func register(on router: Router<APIRequestContext>) {
        router.get("healthz") { _, _ in
            JSONResponse.make(status: .ok, body: ["status": "ok"])
        }
        router.get("readyz") { _, _ in await readiness() }
        router.get("metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: metrics.exposition(engine: engine, health: health))))
        }
        let openAPI = OpenAPIDocument.bytes.map { ByteBuffer(bytes: $0) }
        router.get("api/v1/openapi.json") { _, _ in
            guard case .success(let document) = openAPI else {
                throw APIError(.internalServerError, code: .documentMissing, detail: "The server was installed without its OpenAPI document.")
            }
            return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: document))
        }
        registerOAuth(on: router)
        registerHealthPage(on: router)
        let tenant = router.group("api/v1/unstract/:org_id").add(middleware: TenantAuthMiddleware(store: store))
        // The router treats a trailing slash as optional, so each route serves both spellings.
        tenant.get("supported_connectors") { request, _ in try supportedConnectors(request) }
        tenant.get("connector_schema") { request, _ in try connectorSchema(request) }
        tenant.post("test_connectors") { request, context in try await testConnectors(request, context: context) }
        tenant.get("connector") { request, context in try await listConnectors(request, context: context) }
        tenant.post("connector") { request, context in try await createConnector(request, context: context) }
        tenant.get("connector/:id") { request, context in try await retrieveConnector(request, context: context) }
        tenant.put("connector/:id") { request, context in try await updateConnector(request, context: context, partial: false) }
        tenant.patch("connector/:id") { request, context in try await updateConnector(request, context: context, partial: true) }
        tenant.delete("connector/:id") { request, context in try await deleteConnector(request, context: context) }
        tenant.post("connector/:id/test") { request, context in try await testStoredConnector(request, context: context) }
        tenant.get("connector/:id/health") { request, context in try await connectorHealth(request, context: context) }
        tenant.post("health_checks") { request, context in try await createHealthJob(request, context: context) }
        tenant.get("health_checks/:job_id") { _, context in try healthJob(context: context) }
        tenant.get("health_checks/:job_id/stream") { _, context in try healthJobStream(context: context) }
        tenant.delete("health_checks/:job_id") { _, context in try cancelHealthJob(context: context) }
        tenant.get("workflow") { request, context in try await listWorkflows(request, context: context) }
        tenant.post("workflow") { request, context in try await createWorkflow(request, context: context) }
        tenant.get("workflow/:id") { request, context in try await retrieveWorkflow(request, context: context) }
        tenant.delete("workflow/:id") { request, context in try await deleteWorkflow(request, context: context) }
        tenant.get("notifications") { request, context in try await listNotifications(request, context: context) }
    }

    /// `GET supported_connectors/?type=INPUT|OUTPUT&connector_mode=`.
    func supportedConnectors(_ request: Request) throws -> Response {
        let query = request.uri.queryParameters
        let direction = query.get("type")
        if let direction, !["INPUT", "OUTPUT"].contains(direction) {
            throw APIError.validation("\"\(direction)\" is not a valid choice.", attr: "type", code: .invalidChoice)
        }
        var mode: ConnectorMode?
        if let text = query.get("connector_mode"), !text.isEmpty {
            guard let parsed = ConnectorMode(wire: text) else {
                throw APIError.validation("Connector mode is not Valid.", attr: "connector_mode")
            }
            mode = parsed
        }
        let rows = engine.catalog.filtered(direction: direction, mode: mode).map(\.summaryJSON)
        return JSONResponse.make(status: .ok, body: .array(rows))
    }

    /// `GET connector_schema/?id=`.
    func connectorSchema(_ request: Request) throws -> Response {
        guard let id = request.uri.queryParameters.get("id") else {
            throw APIError.validation("ID is mandatory.", attr: "id", code: .required)
        }
        guard !id.isEmpty else { throw APIError.validation("ID cannot be empty.", attr: "id", code: .blank) }
        guard let type = engine.catalog.type(id: id) else {
            throw APIError(
                .badRequest, code: APIErrorCode(.unknownConnector), detail: "Invalid connector ID '\(id)' while fetching JSON Schema",
                attr: "id", type: "validation_error")
        }
        return JSONResponse.make(status: .ok, body: type.schemaResponseJSON)
    }

    /// `POST test_connectors/` `{connector_id, connector_metadata}` (`?timeout=` seconds).
    func testConnectors(_ request: Request, context: APIRequestContext) async throws -> Response {
        var request = request
        let buffer = try await request.collectBody(upTo: maxBodyBytes)
        let parsed = try TestRequestParser.parse(
            body: buffer.readableBytesView, timeout: request.uri.queryParameters.get("timeout"),
            maxTimeout: engine.configuration.maxTimeout)
        var probeRequest = parsed.request
        let caller = try context.requireCaller()
        // An OAuth flow's tokens join the form's fields; the cache entry stays for the create.
        if let key = request.uri.queryParameters.get("oauth-key") ?? parsed.oauthKey {
            guard let type = catalog.type(id: probeRequest.connectorID) else {
                throw APIError.validation(
                    "Invalid connector ID '\(probeRequest.connectorID)'.", attr: "connector_id", code: APIErrorCode(.unknownConnector))
            }
            probeRequest.metadata = try await oauthTokens(key: key, caller: caller, type: type).tokens.merged(into: probeRequest.metadata)
        }
        let report = try await runTest(probeRequest, caller: caller, audit: .none, context: context)
        return JSONResponse.make(status: HTTPResponse.Status(code: report.status), body: report.responseBody)
    }

    /// Which audit entry a test leaves: none for unsaved credentials (`test_connectors/`), one
    /// for a stored connector, one (without a connector id) for a create's `?test=true`.
    enum TestAudit {
        case none
        case connector(UUID)
        case beforeCreate
    }

    /// Runs one probe under the caller's admission caps, logs it without secrets, and audits it
    /// as `audit` says.
    /// - Throws: ``APIError`` 429 with `Retry-After` when the caller or organization is at its cap.
    func runTest(_ probeRequest: ProbeRequest, caller: Caller, audit: TestAudit, context: APIRequestContext) async throws -> ProbeReport {
        try await admitted(caller) {
            var probeRequest = probeRequest
            probeRequest.tenant = caller.organizationID
            probeRequest.requester = String(caller.userID)
            let report = await engine.test(probeRequest)
            try await finishTest(report, typeID: probeRequest.connectorID, caller: caller, audit: audit, context: context)
            return report
        }
    }

    /// Runs `body` holding one of the caller's places for a test.
    /// - Throws: ``APIError`` 429 with `Retry-After` when the caller or organization is at its cap.
    func admitted<T: Sendable>(_ caller: Caller, _ body: () async throws -> T) async throws -> T {
        let user = String(caller.userID)
        guard admission.admit(user: user, organization: caller.organizationID) else {
            var error = APIError(
                .tooManyRequests, code: .throttled,
                detail: "Too many connector tests are running for this user or organization; try again shortly.")
            error.headers[.retryAfter] = String(admission.limits.retryAfterSeconds)
            throw error
        }
        defer { admission.release(user: user, organization: caller.organizationID) }
        return try await body()
    }

    /// Logs a test's verdict (no secrets) and audits it as `audit` says.
    /// - Throws: ``APIError/shuttingDown`` (503) for a test the engine ended as the server shut
    ///   down: it says nothing about the credentials, so it is neither a verdict nor audited.
    func finishTest(_ report: ProbeReport, typeID: String, caller: Caller, audit: TestAudit, context: APIRequestContext) async throws {
        if report.wasCutByShutdown { throw APIError.shuttingDown }
        context.logger.info(
            "connector test",
            metadata: [
                "probe.connector": "\(typeID.split(separator: "|").first ?? "")",
                "probe.code": "\(report.code)", "probe.stage": "\(report.stage?.rawValue ?? "-")",
                "probe.ms": "\(Int(report.elapsedMilliseconds))",
            ])
        switch audit {
        case .none: break
        case .connector(let id):
            try await store.recordAudit(
                organization: caller.organizationID, actor: caller.userID, action: .test, connector: id, outcome: report.code.rawValue)
        case .beforeCreate:
            try await store.recordAudit(
                organization: caller.organizationID, actor: caller.userID, action: .test, connector: nil, outcome: report.code.rawValue,
                detail: "create?test=true (\(typeID.split(separator: "|").first ?? ""))")
        }
    }
}

/// Parses the body of `POST test_connectors/`, naming the field that is wrong.
public enum TestRequestParser {
    /// - Returns: the request, and the OAuth cache key sent inside `connector_metadata`.
    /// - Throws: ``APIError`` (400) for malformed JSON or a missing or mistyped field.
    public static func parse(
        body: some Collection<UInt8>, timeout: String?, maxTimeout: Duration
    ) throws -> (request: ProbeRequest, oauthKey: String?) {
        let members = try RequestBody.object(body)
        guard let idValue = members["connector_id"] else {
            throw APIError.validation("This field is required.", attr: "connector_id", code: .required)
        }
        guard case .string(let id) = idValue, !id.isEmpty, id.count <= 128 else {
            throw APIError.validation("Must be a non-empty string of at most 128 characters.", attr: "connector_id")
        }
        guard let metadataValue = members["connector_metadata"] else {
            throw APIError.validation("This field is required.", attr: "connector_metadata", code: .required)
        }
        guard case .object(var metadata) = metadataValue else {
            throw APIError.validation("Must be a JSON object.", attr: "connector_metadata")
        }
        // The Unstract frontend may send these alongside the credentials; they are not metadata.
        metadata["connectorName"] = nil
        let oauthKey = metadata.removeValue(forKey: "oauth-key")
        if let oauthKey, oauthKey.stringValue == nil {
            throw APIError.validation("Must be a string.", attr: "connector_metadata.oauth-key")
        }
        return (
            ProbeRequest(connectorID: id, metadata: .object(metadata), timeout: try parseTimeout(timeout, maximum: maxTimeout)),
            oauthKey?.stringValue
        )
    }

    static func parseTimeout(_ text: String?, maximum: Duration) throws -> Duration? {
        guard let text else { return nil }
        let limit = Double(maximum.components.seconds)
        guard let seconds = Double(text), seconds <= limit, let timeout = Duration.checkedSeconds(seconds) else {
            throw APIError.validation("timeout must be a number of seconds above 0 and at most \(Int(limit)).", attr: "timeout")
        }
        return timeout
    }
}
