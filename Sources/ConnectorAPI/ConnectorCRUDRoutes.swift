import ConnectorCore
import ConnectorStore
import Foundation
import HealthChecks
import Hummingbird
import HummingbirdCore
import Logging
import OAuthFlow
import ProbeEngine

/// `connector/` and `connector/{id}/`: list, create, retrieve, PUT, PATCH, DELETE and test, with
/// IsOwner / IsOwnerOrSharedUserOrSharedToOrg: 404 for what the caller may not see, 403 for what
/// it may see but not change.
extension ConnectorRoutes {
    static let defaultPageSize = 50
    static let maxPageSize = 1000

    // MARK: List

    func listConnectors(_ request: Request, context: APIRequestContext) async throws -> Response {
        let caller = try context.requireCaller()
        let parameters = request.uri.queryParameters
        var query = ConnectorQuery()
        if let mode = parameters.get("connector_mode"), !mode.isEmpty {
            // As in Unstract, an unknown mode matches nothing rather than failing.
            query.typeIDs = catalog.types.filter { $0.mode == ConnectorMode(wire: mode) }.map(\.id)
        }
        if let name = parameters.get("connector_name") { query.name = name }
        if let text = parameters.get("created_by") {
            guard let id = Int64(text) else { throw APIError.validation("Must be a user id.", attr: "created_by") }
            query.createdBy = id
        }
        if let search = parameters.get("search") {
            guard !search.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                throw APIError.validation("Must not contain control characters.", attr: "search")
            }
            query.search = search
        }
        if let text = parameters.get("ordering"), !text.isEmpty {
            guard let ordering = ConnectorOrdering(text) else {
                throw APIError.validation(
                    "Ordering must be one of \(ConnectorOrdering.allowedFields.joined(separator: ", ")), optionally prefixed by '-'.",
                    attr: "ordering")
            }
            query.ordering = ordering
        }
        let page = try Self.pageParameters(parameters)
        query.page = page
        let result = try await store.connectors(organization: caller.organizationID, visibleTo: caller.userID, query: query)
        let rows = rendered.array(result.connectors, catalog: catalog, caller: caller)
        guard let page else { return JSONResponse.make(status: .ok, bytes: rows) }
        return try pagedResponse(request, page: page, count: result.count, rowCount: result.connectors.count, rows: rows)
    }

    /// `?page=&page_size=` (1-based; the size defaults to 50 and is capped at 1000); nil when
    /// neither is given and `required` is false.
    static func pageParameters(
        _ parameters: FlatDictionary<Substring, Substring>, required: Bool = false
    ) throws -> (number: Int, size: Int)? {
        let pageText = parameters.get("page")
        let sizeText = parameters.get("page_size")
        guard required || pageText != nil || sizeText != nil else { return nil }
        var number = 1
        var size = Self.defaultPageSize
        if let pageText {
            guard let parsed = Int(pageText), parsed >= 1 else { throw APIError.validation("Must be a positive integer.", attr: "page") }
            number = parsed
        }
        if let sizeText {
            guard let parsed = Int(sizeText), parsed >= 1 else { throw APIError.validation("Must be a positive integer.", attr: "page_size") }
            size = min(parsed, Self.maxPageSize)
        }
        // A page past any possible row (offset overflow) is simply an invalid page.
        guard !(number - 1).multipliedReportingOverflow(by: size).overflow else {
            throw APIError(.notFound, code: .notFound, detail: "Invalid page.")
        }
        return (number, size)
    }

    /// `{count, next, previous, results}` with the already rendered `rows` (a JSON array) spliced
    /// in; an empty page past the first is a 404, as in Django REST framework.
    func pagedResponse(_ request: Request, page: (number: Int, size: Int), count: Int, rowCount: Int, rows: [UInt8]) throws -> Response {
        if page.number > 1, rowCount == 0 {
            throw APIError(.notFound, code: .notFound, detail: "Invalid page.")
        }
        let hasNext = page.number * page.size < count
        let next: JSONValue = hasNext ? .string(pageURL(request, page: page.number + 1)) : .null
        let previous: JSONValue = page.number > 1 ? .string(pageURL(request, page: page.number - 1)) : .null
        var body = Array(#"{"count":"#.utf8) + JSONValue.number(Double(count)).serialized()
        body += Array(#","next":"#.utf8) + next.serialized() + Array(#","previous":"#.utf8) + previous.serialized()
        body += Array(#","results":"#.utf8) + rows + [UInt8(ascii: "}")]
        return JSONResponse.make(status: .ok, bytes: body)
    }

    /// The request's URL with `page` replaced: relative, or absolute under the configured public
    /// URL. Never built from the Host header, which the client controls.
    private func pageURL(_ request: Request, page: Int) -> String {
        var components = URLComponents()
        components.path = request.uri.path
        var items = URLComponents(string: request.uri.description)?.queryItems ?? []
        items.removeAll { $0.name == "page" }
        items.append(URLQueryItem(name: "page", value: String(page)))
        components.queryItems = items
        let relative = components.string ?? request.uri.path
        guard let publicURL else { return relative }
        return (publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL) + relative
    }

    // MARK: Create

    func createConnector(_ request: Request, context: APIRequestContext) async throws -> Response {
        let caller = try context.requireCaller()
        var request = request
        let input = try ConnectorInput.parse(try await request.collectBody(upTo: maxBodyBytes).readableBytesView)
        guard let typeID = input.typeID else { throw APIError.validation("This field is required.", attr: "connector_id", code: .required) }
        guard let type = catalog.type(id: typeID) else {
            throw APIError.validation("Invalid connector ID '\(typeID)'.", attr: "connector_id", code: APIErrorCode(.unknownConnector))
        }
        guard var sent = input.metadata else {
            throw APIError.validation("This field is required.", attr: "connector_metadata", code: .required)
        }
        // An OAuth flow's tokens join the form's fields; its cache entry goes once the row is written.
        var oauthUse: OAuthKeyUse?
        if let key = oauthKey(request, input) {
            oauthUse = try await oauthTokens(key: key, caller: caller, type: type)
            sent = oauthUse!.tokens.merged(into: sent)
        }
        let metadata = try checked { () throws(MetadataError) in try type.normalizingSecrets(sent, allowingMask: false) }
        var name = input.name
        if name == nil, let fromMetadata = metadata["connectorName"]?.stringValue { name = try ConnectorInput.validName(fromMetadata) }
        guard let name else { throw APIError.validation("This field is required.", attr: "connector_name", code: .required) }
        try checked { () throws(MetadataError) in try type.validateForStorage(metadata) }
        if let verdict = try await testIfAsked(request, typeID: typeID, metadata: metadata, caller: caller, connector: nil, context: context) {
            return verdict
        }
        let new = NewConnector(
            name: name, typeID: typeID, mode: type.mode.rawValue, metadata: metadata, sharedUsers: input.sharedUsers ?? [],
            sharedToOrg: input.sharedToOrg ?? false)
        do {
            let created = try await store.createConnector(new, organization: caller.organizationID, by: caller.userID)
            await discardOAuthEntry(oauthUse, context: context)
            return JSONResponse.make(status: .created, body: ConnectorRepresentation.json(created, catalog: catalog, caller: caller))
        } catch let error as ConnectorStoreError {
            throw Self.apiError(error)
        }
    }

    // MARK: Retrieve, update, delete

    func retrieveConnector(_ request: Request, context: APIRequestContext) async throws -> Response {
        let caller = try context.requireCaller()
        let connector = try await visibleConnector(context, caller: caller)
        return JSONResponse.make(status: .ok, bytes: rendered.json(connector, catalog: catalog, caller: caller))
    }

    /// PUT replaces name and metadata (both required); PATCH changes what it sends. Only the
    /// owner may do either. A changed `shared_users` notifies the newly added users.
    func updateConnector(_ request: Request, context: APIRequestContext, partial: Bool) async throws -> Response {
        let caller = try context.requireCaller()
        let current = try await visibleConnector(context, caller: caller)
        guard current.isOwned(by: caller.userID) else { throw APIError.permissionDenied }
        var request = request
        let input = try ConnectorInput.parse(try await request.collectBody(upTo: maxBodyBytes).readableBytesView)
        if !partial {
            if input.name == nil { throw APIError.validation("This field is required.", attr: "connector_name", code: .required) }
            if input.metadata == nil {
                throw APIError.validation("This field is required.", attr: "connector_metadata", code: .required)
            }
        }
        if let typeID = input.typeID, typeID != current.typeID {
            throw APIError.validation("A connector's type cannot change; create a new connector instead.", attr: "connector_id")
        }
        guard let type = catalog.type(id: current.typeID) else {
            throw APIError.validation("This connector's type is no longer in the catalog.", attr: "connector_id")
        }
        // Decide on the stored value now (for the optional test) and again inside the write
        // transaction; if the two differ, the row changed in between and the caller retries.
        let planned: JSONValue?
        var sent = input.metadata
        var oauthUse: OAuthKeyUse?
        if let key = oauthKey(request, input) {
            // Without a form, the new tokens join the stored fields.
            oauthUse = try await oauthTokens(key: key, caller: caller, type: type)
            sent = oauthUse!.tokens.merged(into: sent ?? current.metadata)
        }
        let update = try sent.map { sent in
            try checked { () throws(MetadataError) in try type.normalizingSecrets(sent, allowingMask: true) }
        }
        if let update {
            let merged = try checked { () throws(MetadataError) in try type.merging(update: update, stored: current.metadata) }
            try checked { () throws(MetadataError) in try type.validateForStorage(merged) }
            if let verdict = try await testIfAsked(
                request, typeID: current.typeID, metadata: merged, caller: caller, connector: current.id, context: context)
            {
                return verdict
            }
            planned = merged
        } else {
            planned = nil
        }
        let change = ConnectorChange(name: input.name, sharedUsers: input.sharedUsers, sharedToOrg: input.sharedToOrg)
        do {
            let (updated, _) = try await store.updateConnector(
                id: current.id, organization: caller.organizationID, by: caller.userID, change: change
            ) { locked in
                guard let update else { return nil }
                let again = try type.merging(update: update, stored: locked.metadata)
                guard again == planned else { throw ConcurrentChange() }
                return again
            }
            await discardOAuthEntry(oauthUse, context: context)
            return JSONResponse.make(status: .ok, body: ConnectorRepresentation.json(updated, catalog: catalog, caller: caller))
        } catch let error as ConnectorStoreError {
            throw Self.apiError(error)
        } catch let error as MetadataError {
            throw Self.validationError(error)
        } catch is ConcurrentChange {
            throw APIError(
                .conflict, code: .concurrentUpdate, detail: "The connector changed while this update was checked; send it again.")
        }
    }

    func deleteConnector(_ request: Request, context: APIRequestContext) async throws -> Response {
        let caller = try context.requireCaller()
        let current = try await visibleConnector(context, caller: caller)
        guard current.isOwned(by: caller.userID) else { throw APIError.permissionDenied }
        do {
            try await store.deleteConnector(id: current.id, organization: caller.organizationID, by: caller.userID)
        } catch let error as ConnectorStoreError {
            var refusal = Self.apiError(error)
            if case .inUse = error {
                // Name what pins it, so the owner can act: they may delete each of these workflows.
                let using = try await store.workflows(
                    organization: caller.organizationID, matching: WorkflowQuery(usingConnector: current.id, knownTo: caller.userID))
                refusal.extraMembers["workflows"] = .array(
                    using.map {
                        [
                            "id": .string($0.workflow.id.uuidString.lowercased()), "workflow_name": .string($0.workflow.name),
                            "created_by_email": $0.creatorEmail.map(JSONValue.string) ?? .null,
                        ]
                    })
            }
            throw refusal
        }
        return Response(status: .noContent)
    }

    /// `POST connector/{id}/test/` (`?timeout=`): the probe with the stored credentials. Tokens
    /// an OAuth connector's probe refreshed are written back (one test at a time per connector
    /// here; compare-and-swap against other replicas).
    func testStoredConnector(_ request: Request, context: APIRequestContext) async throws -> Response {
        let caller = try context.requireCaller()
        let connector = try await visibleConnector(context, caller: caller)
        let timeout = try TestRequestParser.parseTimeout(
            request.uri.queryParameters.get("timeout"), maximum: engine.configuration.maxTimeout)
        let report = try await admitted(caller) {
            let report: ProbeReport
            do {
                report = try await checker.check(connector, timeout: timeout, requester: String(caller.userID), trigger: .test(user: caller.userID))
            } catch is StoredConnectorChecker.ConnectorGone {
                throw APIError.notFound
            }
            try await finishTest(report, typeID: connector.typeID, caller: caller, audit: .connector(connector.id), context: context)
            return report
        }
        return JSONResponse.make(status: HTTPResponse.Status(code: report.status), body: report.responseBody)
    }

    // MARK: Helpers

    /// The connector named by `{id}` if the caller may see it; 404 otherwise (also for a
    /// malformed id, so ids of other tenants cannot be probed).
    func visibleConnector(_ context: APIRequestContext, caller: Caller) async throws -> StoredConnector {
        guard let text = context.parameters.get("id"), let id = UUID(uuidString: text),
            let connector = try await store.connector(id: id, organization: caller.organizationID),
            connector.isVisible(to: caller.userID)
        else { throw APIError.notFound }
        return connector
    }

    /// The OAuth cache key of a create or update: `?oauth-key=`, else one sent inside `connector_metadata`.
    private func oauthKey(_ request: Request, _ input: ConnectorInput) -> String? {
        request.uri.queryParameters.get("oauth-key") ?? input.oauthKey
    }

    /// `?test=true`: runs the probe first and answers with its verdict unless it passed.
    private func testIfAsked(
        _ request: Request, typeID: String, metadata: JSONValue, caller: Caller, connector: UUID?, context: APIRequestContext
    ) async throws -> Response? {
        guard let flag = request.uri.queryParameters.get("test"), ["true", "1"].contains(flag.lowercased()) else { return nil }
        let timeout = try TestRequestParser.parseTimeout(
            request.uri.queryParameters.get("timeout"), maximum: engine.configuration.maxTimeout)
        let report = try await runTest(
            ProbeRequest(connectorID: typeID, metadata: metadata, timeout: timeout), caller: caller,
            audit: connector.map { .connector($0) } ?? .beforeCreate, context: context)
        guard !report.isValid else { return nil }
        return JSONResponse.make(status: HTTPResponse.Status(code: report.status), body: report.responseBody)
    }

    /// Runs a metadata step, turning its ``MetadataError`` into the 400 that names the field.
    private func checked<T>(_ step: () throws(MetadataError) -> T) throws -> T {
        do {
            return try step()
        } catch {
            throw Self.validationError(error)
        }
    }

    /// A metadata problem as a 400 whose `attr` is the path of the field inside the body.
    static func validationError(_ error: MetadataError) -> APIError {
        APIError.validation(error.detail, attr: error.attr.map { "connector_metadata.\($0)" } ?? "connector_metadata")
    }

    static func apiError(_ error: ConnectorStoreError) -> APIError {
        switch error {
        case .duplicateName(let name):
            return APIError(
                .conflict, code: .duplicateName, detail: "A connector named '\(name)' already exists in this organization.",
                attr: "connector_name")
        case .inUse(let name):
            return APIError(
                .conflict, code: .connectorInUse,
                detail: "Cannot delete '\(name)'. It is currently being used in one or more workflows.")
        case .notFound:
            return APIError.notFound
        case .notAMember(let id):
            return APIError.validation("User \(id) is not a member of this organization.", attr: "shared_users")
        }
    }
}

/// The stored row changed between the checks of an update and its write.
private struct ConcurrentChange: Error {}
