import ConnectorCore
import ConnectorStore
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// An error the API answers with the Unstract error body.
public struct APIError: HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    public var body: APIErrorBody
    /// Members beside `type` and `errors` (e.g. the workflows that keep a connector in use).
    public var extraMembers: [String: JSONValue] = [:]
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, code: APIErrorCode, detail: String, attr: String? = nil, type: String? = nil) {
        self.status = status
        self.body = APIErrorBody(
            type: type ?? (status.code >= 500 ? "server_error" : "client_error"), code: code.rawValue, detail: detail, attr: attr)
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        JSONResponse.make(status: status, body: json, headers: headers)
    }

    /// The error body with the extra members.
    var json: JSONValue {
        guard case .object(var members) = body.json else { return body.json }
        members.merge(extraMembers) { own, _ in own }
        return .object(members)
    }

    static let unauthenticated = APIError(
        .unauthorized, code: .notAuthenticated, detail: "Authentication credentials were not provided or are not valid.")
    static let notFound = APIError(.notFound, code: .notFound, detail: "Not found.")
    static let permissionDenied = APIError(
        .forbidden, code: .permissionDenied, detail: "You do not have permission to perform this action.")

    /// 503 with `Retry-After`: a dependency did not answer, and the client should try again.
    static func unavailable(_ code: APIErrorCode, detail: String) -> APIError {
        var error = APIError(.serviceUnavailable, code: code, detail: detail)
        error.headers[.retryAfter] = "5"
        return error
    }

    /// The store did not answer within `--store-timeout`.
    static let storeUnavailable = unavailable(.storeUnavailable, detail: "The store is unavailable; try again shortly.")

    /// The storage refused a write; reads go on. A full disk is 507 (Insufficient Storage), the
    /// other refusals 503; each says that nothing was written.
    static func writeRefused(_ refused: StoreWriteRefused) -> APIError {
        switch refused.reason {
        case .diskFull:
            var error = unavailable(.storeFull, detail: "The store's disk is full; nothing was written. Reads still work.")
            error.status = .init(code: 507, reasonPhrase: "Insufficient Storage")
            return error
        case .readOnly:
            return unavailable(.storeReadOnly, detail: "The store is read-only; nothing was written. Reads still work.")
        case .ioError:
            return unavailable(.storeWriteFailed, detail: "The store's disk failed the write; nothing was written. Reads still work.")
        }
    }

    /// The server is shutting down and ended the test (`--shutdown-grace` ran out).
    static let shuttingDown = unavailable(
        .shuttingDown, detail: "The server is shutting down and ended the test before it finished; try again shortly.")

    static func validation(_ detail: String, attr: String?, code: APIErrorCode = .invalid) -> APIError {
        APIError(.badRequest, code: code, detail: detail, attr: attr, type: "validation_error")
    }
}

/// Reads request bodies.
enum RequestBody {
    /// The members of a JSON object body.
    /// - Throws: ``APIError`` 400 `parse_error` for text that is not JSON, a validation error for
    ///   JSON that is not an object.
    static func object(_ body: some Collection<UInt8>) throws -> [String: JSONValue] {
        let json: JSONValue
        do {
            json = try JSONValue.parse(body)
        } catch {
            throw APIError(.badRequest, code: .parseError, detail: "The request body is not valid JSON.")
        }
        guard case .object(let members) = json else {
            throw APIError.validation("The request body must be a JSON object.", attr: nil)
        }
        return members
    }
}

/// Renders JSON values as HTTP responses.
enum JSONResponse {
    static func make(status: HTTPResponse.Status, body: JSONValue, headers: HTTPFields = [:]) -> Response {
        make(status: status, bytes: body.serialized(), headers: headers)
    }

    /// A response of already serialized JSON.
    static func make(status: HTTPResponse.Status, bytes: [UInt8], headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

/// Turns every error that escapes a route, including the router's own 404 and an oversized
/// body, into the Unstract error body: never an HTML page, never a stack trace.
struct ErrorBodyMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return JSONResponse.make(status: error.status, body: error.json, headers: error.headers)
        } catch is StoreUnavailable {
            // The store logs when it stops answering and when it is back; no line per request.
            let error = APIError.storeUnavailable
            return JSONResponse.make(status: error.status, body: error.json, headers: error.headers)
        } catch let refused as StoreWriteRefused {
            let error = APIError.writeRefused(refused)
            return JSONResponse.make(status: error.status, body: error.json, headers: error.headers)
        } catch let error as any HTTPResponseError {
            let (code, detail) = Self.describe(error.status)
            return JSONResponse.make(
                status: error.status,
                body: APIErrorBody(type: error.status.code >= 500 ? "server_error" : "client_error", code: code.rawValue, detail: detail).json)
        } catch {
            context.logger.error("unhandled error", metadata: ["error.type": "\(type(of: error))"])
            return JSONResponse.make(
                status: .internalServerError,
                body: APIErrorBody(type: "server_error", code: APIErrorCode.error.rawValue, detail: "A server error occurred.").json)
        }
    }

    private static func describe(_ status: HTTPResponse.Status) -> (APIErrorCode, String) {
        switch status.code {
        case 404: (.notFound, "Not found.")
        case 405: (.methodNotAllowed, "Method not allowed.")
        case 413: (.payloadTooLarge, "The request body is larger than this server accepts.")
        case 400: (.parseError, "The request could not be parsed.")
        case 401: (.notAuthenticated, "Authentication credentials were not provided or are not valid.")
        default: (.error, status.reasonPhrase)
        }
    }
}
