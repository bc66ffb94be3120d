import ConnectorCore
import ConnectorStore
import Foundation
import HealthChecks
import Hummingbird
import Logging
import NIOCore
import ProbeEngine

/// Health routes (DESIGN §3): a connector's check history, and batch jobs that check many
/// stored connectors (start, progress and results, a live NDJSON stream, cancel).
extension ConnectorRoutes {
    /// The most connectors one job may name.
    static let maxJobConnectors = 10_000
    /// Checks at once for a job that does not say.
    static let defaultJobConcurrency = 16
    /// Jobs one user may have running at once in an organization; more are a 429.
    static let maxRunningJobsPerUser = 4

    /// `GET connector/{id}/health/?page=&page_size=`: newest first, always paged.
    func connectorHealth(_ request: Request, context: APIRequestContext) async throws -> Response {
        let caller = try context.requireCaller()
        let connector = try await visibleConnector(context, caller: caller)
        guard let page = try Self.pageParameters(request.uri.queryParameters, required: true) else { throw APIError.notFound }
        let history = try await store.healthHistory(
            connector: connector.id, organization: caller.organizationID, page: page.number, pageSize: page.size)
        let rows = JSONValue.array(history.checks.map(Self.healthCheckJSON)).serialized()
        return try pagedResponse(request, page: page, count: history.count, rowCount: history.checks.count, rows: rows)
    }

    /// One recorded check on the wire.
    static func healthCheckJSON(_ check: HealthCheckRecord) -> JSONValue {
        [
            "checked_at": .string(ConnectorRepresentation.timestamp(check.checkedAt)), "is_valid": .bool(check.isValid),
            "code": .string(check.code), "status": OutcomeCode(rawValue: check.code).map { .number(Double($0.status)) } ?? .null,
            "stage": check.stage.map { .string($0) } ?? .null, "attr": check.attr.map { .string($0) } ?? .null,
            "detail": .string(check.isValid ? "" : check.detail), "hint": .string(check.hint),
            "elapsed_ms": .number(ProbeReport.rounded(check.elapsedMilliseconds)), "stages": check.stages,
            "warnings": check.warnings,
            "triggered_by": [
                "kind": .string(check.triggeredVia), "user": check.triggeredBy.map { .number(Double($0)) } ?? .null,
                "job_id": check.jobID.map { .string($0.uuidString.lowercased()) } ?? .null,
            ],
        ]
    }

    /// `POST health_checks/` `{connector_ids?, concurrency?, timeout?}` → 202 `{job_id, total}`.
    func createHealthJob(_ request: Request, context: APIRequestContext) async throws -> Response {
        let caller = try context.requireCaller()
        var request = request
        let body = try await request.collectBody(upTo: maxBodyBytes)
        let members = body.readableBytes == 0 ? [:] : try RequestBody.object(body.readableBytesView)
        let options = try HealthJobRequest(members, maxConcurrency: admission.limits.perUser, maxTimeout: engine.configuration.maxTimeout)
        let running = jobs.running.count { $0.owner == caller.userID && $0.organization == caller.organizationID }
        guard running < Self.maxRunningJobsPerUser else {
            var error = APIError(
                .tooManyRequests, code: .throttled,
                detail: "You have \(running) health jobs running; wait for one to end or cancel one.")
            error.headers[.retryAfter] = "5"
            throw error
        }
        let connectors: [StoredConnector]
        if let ids = options.connectorIDs {
            var listed: [StoredConnector] = []
            for id in ids {
                // One the caller cannot see fails the whole request, as if it did not exist.
                guard let connector = try await store.connector(id: id, organization: caller.organizationID),
                    connector.isVisible(to: caller.userID)
                else {
                    throw APIError(.notFound, code: .notFound, detail: "No connector \(id.uuidString.lowercased()).", attr: "connector_ids")
                }
                listed.append(connector)
            }
            connectors = listed
        } else {
            connectors = try await store.connectors(organization: caller.organizationID, visibleTo: caller.userID, query: ConnectorQuery())
                .connectors
        }
        let job = HealthJob(
            organization: caller.organizationID, owner: caller.userID, requester: String(caller.userID), total: connectors.count,
            concurrency: options.concurrency, timeout: options.timeout)
        jobs.add(job)
        batch.submit(job, connectors: connectors)
        context.logger.info("health job started", metadata: ["job.id": "\(job.id)", "job.total": "\(connectors.count)"])
        return JSONResponse.make(
            status: .accepted, body: ["job_id": .string(job.id.uuidString.lowercased()), "total": .number(Double(connectors.count))])
    }

    /// `GET health_checks/{job_id}/`: status, counts by outcome code, results so far.
    func healthJob(context: APIRequestContext) throws -> Response {
        let job = try ownedJob(context)
        let snapshot = job.snapshot
        var counts: [String: JSONValue] = [:]
        for (code, count) in snapshot.counts { counts[code] = .number(Double(count)) }
        return JSONResponse.make(
            status: .ok,
            body: [
                "job_id": .string(job.id.uuidString.lowercased()), "status": .string(snapshot.status.rawValue),
                "total": .number(Double(snapshot.total)), "done": .number(Double(snapshot.results.count)),
                "valid": .number(Double(snapshot.results.count(where: { $0.report.isValid }))), "counts": .object(counts),
                "created_at": .string(ConnectorRepresentation.timestamp(job.createdAt)),
                "finished_at": snapshot.finishedAt.map { .string(ConnectorRepresentation.timestamp($0)) } ?? .null,
                "results": .array(snapshot.results.map(\.json)),
            ])
    }

    /// `GET health_checks/{job_id}/stream`: every result so far, then each one the moment it
    /// finishes, one JSON object per line; the body ends when the job does.
    func healthJobStream(context: APIRequestContext) throws -> Response {
        let results = try ownedJob(context).follow()
        let lines = results.map { result in ByteBuffer(bytes: result.json.serialized() + [UInt8(ascii: "\n")]) }
        return Response(
            status: .ok, headers: [.contentType: "application/x-ndjson", .cacheControl: "no-store"],
            body: ResponseBody(asyncSequence: lines))
    }

    /// `DELETE health_checks/{job_id}/`: cancels a running job (its checks in flight are closed);
    /// 204 whether or not it was still running.
    func cancelHealthJob(context: APIRequestContext) throws -> Response {
        let job = try ownedJob(context)
        if batch.cancel(job) {
            context.logger.info("health job cancelled", metadata: ["job.id": "\(job.id)"])
        }
        return Response(status: .noContent)
    }

    /// The job named by `{job_id}` if the caller started it in this organization; 404 otherwise.
    private func ownedJob(_ context: APIRequestContext) throws -> HealthJob {
        let caller = try context.requireCaller()
        guard let text = context.parameters.get("job_id"), let id = UUID(uuidString: text), let job = jobs.job(id),
            job.organization == caller.organizationID, job.owner == caller.userID
        else { throw APIError.notFound }
        return job
    }
}

/// The body of `POST health_checks/`, each field checked and named when wrong.
struct HealthJobRequest {
    var connectorIDs: [UUID]?
    var concurrency: Int
    var timeout: Duration?

    init(_ members: [String: JSONValue], maxConcurrency: Int, maxTimeout: Duration) throws {
        concurrency = min(ConnectorRoutes.defaultJobConcurrency, maxConcurrency)
        for (key, value) in members {
            switch key {
            case "connector_ids":
                if case .null = value { continue }
                guard case .array(let items) = value else { throw APIError.validation("Must be a list of connector ids.", attr: key) }
                guard items.count <= ConnectorRoutes.maxJobConnectors else {
                    throw APIError.validation("At most \(ConnectorRoutes.maxJobConnectors) connectors per job.", attr: key)
                }
                var seen = Set<UUID>()
                connectorIDs = try items.compactMap { item in
                    guard case .string(let text) = item, let id = UUID(uuidString: text) else {
                        throw APIError.validation("Every entry must be a connector id (a UUID).", attr: key)
                    }
                    return seen.insert(id).inserted ? id : nil
                }
            case "concurrency":
                guard case .number(let number) = value, let count = Int(exactly: number), (1...maxConcurrency).contains(count) else {
                    throw APIError.validation("Must be an integer from 1 to \(maxConcurrency).", attr: key)
                }
                concurrency = count
            case "timeout":
                guard case .number(let seconds) = value else { throw APIError.validation("Must be a number of seconds.", attr: key) }
                timeout = try TestRequestParser.parseTimeout(String(seconds), maximum: maxTimeout)
            default:
                throw APIError.validation("Unknown field '\(key)'.", attr: key, code: .unknownField)
            }
        }
    }
}
