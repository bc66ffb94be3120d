import ConnectorStore
import Crypto
import Foundation
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
/// is a 404, so organization ids do not leak. Refusals on connector routes (401, 403, 404) are
/// written to the audit log.
struct TenantAuthMiddleware: RouterMiddleware {
    typealias Context = APIRequestContext
    let store: ConnectorStore

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let organization = context.parameters.get("org_id") ?? ""
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer "), header.count > 7 else {
            await auditDenial(request, organization: organization, actor: nil, status: 401, who: "no token")
            throw APIError.unauthenticated
        }
        let token = String(header.dropFirst(7))
        // Testing unsaved credentials needs nothing else from the store: it goes on through an
        // outage for a token the store vouched for recently.
        let testsUnsaved = request.method == .post && request.uri.path.split(separator: "/").last == "test_connectors"
        switch try await store.authenticate(token: token, organization: organization, lastKnownDuringOutage: testsUnsaved) {
        case .invalidToken:
            await auditDenial(request, organization: organization, actor: nil, status: 401, who: Self.tokenLabel(token))
            throw APIError.unauthenticated
        case .notMember:
            await auditDenial(request, organization: organization, actor: nil, status: 404, who: Self.tokenLabel(token))
            throw APIError.notFound
        case .caller(let caller):
            var context = context
            context.caller = caller
            context.logger[metadataKey: "user"] = "\(caller.userID)"
            do {
                return try await next(request, context)
            } catch let error as APIError where [403, 404].contains(error.status.code) {
                await auditDenial(request, organization: organization, actor: caller.userID, status: Int(error.status.code), who: nil)
                throw error
            }
        }
    }

    /// Audits a refused request on a connector route (`connector/…`): the method and path (never
    /// the query, which may carry an OAuth key), the caller, or for an unknown token a prefix of
    /// its SHA-256 (enough to tell attempts apart, nothing to log in with).
    private func auditDenial(_ request: Request, organization: String, actor: Int64?, status: Int, who: String?) async {
        let parts = request.uri.path.split(separator: "/")
        guard parts.count > 4, parts[4] == "connector" else { return }
        let detail = "\(request.method) \(request.uri.path)" + (who.map { " (\($0))" } ?? "")
        try? await store.recordDenial(organization: organization, actor: actor, status: status, detail: detail)
    }

    static func tokenLabel(_ token: String) -> String {
        "token sha256:" + SHA256.hash(data: Data(token.utf8)).prefix(4).map { String(format: "%02x", $0) }.joined()
    }
}
