import ConnectorStore
import Hummingbird
import Logging

/// The request context of every route: the authenticated caller once the tenant middleware ran.
public struct APIRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Set by ``TenantAuthMiddleware`` on tenant routes.
    public var caller: Caller?

    public init(source: Source) {
        coreContext = .init(source: source)
        caller = nil
    }

    /// The caller of a tenant route (the middleware guarantees one).
    func requireCaller() throws -> Caller {
        guard let caller else { throw APIError.unauthenticated }
        return caller
    }
}

/// Checks `Authorization: Bearer` against the store's hashed tokens and membership of
/// `{org_id}`: a missing, unknown or revoked token is a 401; an organization the caller is not in
/// is a 404, so organization ids do not leak.
struct TenantAuthMiddleware: RouterMiddleware {
    typealias Context = APIRequestContext
    let store: ConnectorStore

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer "), header.count > 7 else {
            throw APIError.unauthenticated
        }
        let organization = context.parameters.get("org_id") ?? ""
        switch try await store.authenticate(token: String(header.dropFirst(7)), organization: organization) {
        case .invalidToken:
            throw APIError.unauthenticated
        case .notMember:
            throw APIError.notFound
        case .caller(let caller):
            var context = context
            context.caller = caller
            context.logger[metadataKey: "user"] = "\(caller.userID)"
            return try await next(request, context)
        }
    }
}
