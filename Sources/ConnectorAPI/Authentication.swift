import Hummingbird

/// Who may call the tenant routes. Until the store exists there is one bearer token and a fixed
/// set of organization ids.
public struct AccessPolicy: Sendable {
    public var token: String
    public var organizations: Set<String>

    public init(token: String, organizations: Set<String> = ["default"]) {
        self.token = token
        self.organizations = organizations
    }
}

/// Checks `Authorization: Bearer` and membership of `{org_id}`: a missing or wrong token is a
/// 401, an organization the caller is not in is a 404 (so org ids do not leak).
struct TenantAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let policy: AccessPolicy

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer "),
            Self.constantTimeEquals(String(header.dropFirst(7)), policy.token)
        else {
            throw APIError(
                .unauthorized, code: "not_authenticated", detail: "Authentication credentials were not provided or are not valid.")
        }
        guard let org = context.parameters.get("org_id"), policy.organizations.contains(org) else {
            throw APIError(.notFound, code: "not_found", detail: "Not found.")
        }
        return try await next(request, context)
    }

    private static func constantTimeEquals(_ left: String, _ right: String) -> Bool {
        let a = Array(left.utf8)
        let b = Array(right.utf8)
        guard a.count == b.count else { return false }
        return zip(a, b).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
