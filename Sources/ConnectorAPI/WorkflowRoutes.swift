import ConnectorCore
import ConnectorStore
import Foundation
import Hummingbird

/// Minimal workflows (what makes "in use" real) and the caller's notifications.
extension ConnectorRoutes {
    static func json(_ workflow: Workflow) -> JSONValue {
        [
            "id": .string(workflow.id.uuidString.lowercased()),
            "workflow_name": .string(workflow.name),
            "source_connector": workflow.sourceConnectorID.map { .string($0.uuidString.lowercased()) } ?? .null,
            "destination_connector": workflow.destinationConnectorID.map { .string($0.uuidString.lowercased()) } ?? .null,
            "created_by": workflow.createdBy.map { .number(Double($0)) } ?? .null,
            "created_at": .string(ConnectorRepresentation.timestamp(workflow.createdAt)),
        ]
    }

    /// `GET workflow/`: the organization's workflows; a connector id the caller may not see is null.
    func listWorkflows(_ request: Request, context: APIRequestContext) async throws -> Response {
        let caller = try context.requireCaller()
        let workflows = try await store.workflows(
            organization: caller.organizationID, matching: WorkflowQuery(connectorsVisibleTo: caller.userID))
        return JSONResponse.make(status: .ok, body: .array(workflows.map { Self.json($0.workflow) }))
    }

    /// `POST workflow/` `{workflow_name, source_connector?, destination_connector?}`: the caller
    /// must be able to see each connector it names.
    func createWorkflow(_ request: Request, context: APIRequestContext) async throws -> Response {
        let caller = try context.requireCaller()
        var request = request
        let body = try await request.collectBody(upTo: maxBodyBytes)
        let members = try RequestBody.object(body.readableBytesView)
        guard case .string(let rawName)? = members["workflow_name"] else {
            throw APIError.validation("This field is required.", attr: "workflow_name", code: .required)
        }
        let name = try ConnectorInput.validName(rawName, attr: "workflow_name")
        var ids: [String: UUID] = [:]
        for field in ["source_connector", "destination_connector"] {
            switch members[field] {
            case nil, .null?: continue
            case .string(let text)?:
                guard let id = UUID(uuidString: text), let connector = try await store.connector(id: id, organization: caller.organizationID),
                    connector.isVisible(to: caller.userID)
                else { throw APIError.validation("No such connector.", attr: field, code: .doesNotExist) }
                ids[field] = id
            default:
                throw APIError.validation("Must be a connector id.", attr: field)
            }
        }
        do {
            let workflow = try await store.createWorkflow(
                name: name, source: ids["source_connector"], destination: ids["destination_connector"],
                organization: caller.organizationID, by: caller.userID)
            return JSONResponse.make(status: .created, body: Self.json(workflow))
        } catch ConnectorStoreError.duplicateName {
            throw APIError(
                .conflict, code: .duplicateName, detail: "A workflow named '\(name)' already exists in this organization.",
                attr: "workflow_name")
        } catch ConnectorStoreError.notFound {
            // The connector was deleted between the check and the insert.
            throw APIError.validation("No such connector.", attr: "source_connector", code: .doesNotExist)
        }
    }

    func retrieveWorkflow(_ request: Request, context: APIRequestContext) async throws -> Response {
        let workflow = try await namedWorkflow(context)
        return JSONResponse.make(status: .ok, body: Self.json(workflow))
    }

    /// The workflow's creator and the owner of a connector it uses may delete it (so a shared
    /// user cannot pin the owner's connector); other members get 403.
    func deleteWorkflow(_ request: Request, context: APIRequestContext) async throws -> Response {
        let caller = try context.requireCaller()
        let workflow = try await namedWorkflow(context)
        guard try await store.deleteWorkflow(id: workflow.id, organization: caller.organizationID, by: caller.userID) else {
            // Not the caller's to delete, or gone meanwhile.
            guard try await store.workflows(organization: caller.organizationID, matching: WorkflowQuery(id: workflow.id)).isEmpty
            else { throw APIError.permissionDenied }
            throw APIError.notFound
        }
        return Response(status: .noContent)
    }

    /// The workflow named by `{id}`, connector ids the caller may not see as null; 404 when absent.
    private func namedWorkflow(_ context: APIRequestContext) async throws -> Workflow {
        let caller = try context.requireCaller()
        guard let text = context.parameters.get("id"), let id = UUID(uuidString: text),
            let found = try await store.workflows(
                organization: caller.organizationID, matching: WorkflowQuery(id: id, connectorsVisibleTo: caller.userID)
            ).first
        else { throw APIError.notFound }
        return found.workflow
    }

    /// `GET notifications/`: the caller's share notices in this organization, newest first.
    func listNotifications(_ request: Request, context: APIRequestContext) async throws -> Response {
        let caller = try context.requireCaller()
        let notes = try await store.notifications(organization: caller.organizationID, userID: caller.userID)
        return JSONResponse.make(status: .ok, body: .array(notes.map(Self.json)))
    }

    static func json(_ note: ShareNotification) -> JSONValue {
        [
            "id": .string(note.id.uuidString.lowercased()),
            "kind": .string(note.kind),
            "resource_type": .string(note.resourceType),
            "resource_id": .string(note.resourceID),
            "resource_name": .string(note.resourceName),
            "shared_by": note.sharedBy.map { .number(Double($0)) } ?? .null,
            "created_at": .string(ConnectorRepresentation.timestamp(note.createdAt)),
        ]
    }
}
