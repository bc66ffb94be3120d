import CCertificate
import CLibPQ
import Foundation
import Glibc
import Synchronization

/// Where a libpq connection attempt stands, as `PQstatus` reports it.
public enum PostgresConnectionPhase: Sendable, Equatable {
    /// Waiting for the TCP connection to be made.
    case connecting
    /// TCP connected; about to send the first message.
    case connected
    /// Negotiating TLS.
    case negotiatingTLS
    /// Exchanging the startup and authentication messages.
    case authenticating
    /// Ready for queries.
    case ready
    /// Failed; see ``PostgresConnection/errorSQLState``.
    case failed
}

/// What `PQconnectPoll` asks for next.
public enum PostgresPollResult: Sendable, Equatable {
    case wantRead, wantWrite, ready, failed
}

/// What `PQflush` reports.
public enum PostgresFlushResult: Sendable, Equatable {
    case done, pending, failed
}

/// The outcome of one query result.
public struct PostgresQueryResult: Sendable, Equatable {
    /// Whether the command succeeded.
    public var ok: Bool
    /// The SQLSTATE of a failed command.
    public var sqlState: String?
    /// The first column of the first row, as text.
    public var firstValue: String?

    public init(ok: Bool, sqlState: String?, firstValue: String?) {
        self.ok = ok
        self.sqlState = sqlState
        self.firstValue = firstValue
    }
}

/// One libpq connection (`PGconn*`), driven with the non-blocking API.
///
/// Not thread-safe: exactly one thread at a time may call it (the reactor that owns the probe),
/// and ``finish()`` releases the handle exactly once.
public final class PostgresConnection: @unchecked Sendable {
    private var handle: OpaquePointer?

    /// Handles created and not yet finished, process-wide: a leak check for tests.
    public static var openHandles: Int { live.load(ordering: .relaxed) }
    private static let live = Atomic<Int>(0)

    /// The errno right after `PQconnectStartParams`: the reason when its immediate `connect(2)`
    /// failed (the connection is then already ``PostgresConnectionPhase/failed``).
    public let startErrno: Int32

    /// Starts a connection from key/value parameters (`PQconnectStartParams`, no dbname
    /// expansion). Pass `hostaddr` so that libpq does no name lookup of its own.
    public init(parameters: [(String, String)]) {
        let keys = parameters.map { strdup($0.0) } + [nil]
        let values = parameters.map { strdup($0.1) } + [nil]
        defer {
            keys.forEach { free($0) }
            values.forEach { free($0) }
        }
        handle = keys.map { UnsafePointer($0) }.withUnsafeBufferPointer { keyPointer in
            values.map { UnsafePointer($0) }.withUnsafeBufferPointer { valuePointer in
                PQconnectStartParams(keyPointer.baseAddress, valuePointer.baseAddress, 0)
            }
        }
        startErrno = errno
        if let handle {
            Self.live.add(1, ordering: .relaxed)
            // Server errors then carry only their SQLSTATE: a structured signal to classify by.
            PQsetErrorVerbosity(handle, PQERRORS_SQLSTATE)
        }
    }

    deinit {
        finish()
    }

    /// The connection's socket, or -1.
    public var socket: Int32 {
        handle.map { PQsocket($0) } ?? -1
    }

    /// Where the attempt stands.
    public var phase: PostgresConnectionPhase {
        guard let handle else { return .failed }
        let status = PQstatus(handle)
        switch status {
        case CONNECTION_OK: return .ready
        case CONNECTION_BAD: return .failed
        case CONNECTION_STARTED, CONNECTION_NEEDED: return .connecting
        case CONNECTION_MADE: return .connected
        case CONNECTION_SSL_STARTUP: return .negotiatingTLS
        default: return .authenticating
        }
    }

    /// Advances the connection attempt (`PQconnectPoll`).
    public func poll() -> PostgresPollResult {
        guard let handle else { return .failed }
        switch PQconnectPoll(handle) {
        case PGRES_POLLING_READING: return .wantRead
        case PGRES_POLLING_WRITING: return .wantWrite
        case PGRES_POLLING_OK: return .ready
        default: return .failed
        }
    }

    /// The SQLSTATE the server sent with the error that ended the attempt or query, if it sent one.
    ///
    /// With `PQERRORS_SQLSTATE` verbosity libpq renders a server error as `SEVERITY:  CODE`, so the
    /// code is the five-character token that ends the message; a libpq-side error has none.
    public var errorSQLState: String? {
        guard let handle, let message = PQerrorMessage(handle) else { return nil }
        return Self.sqlState(inErrorMessage: String(cString: message))
    }

    /// The SQLSTATE of a libpq error message: each line that ends in a `:  XXXXX` token is one
    /// server error. libpq may have made two attempts (`sslmode=prefer` retries without TLS), and
    /// the first may be the informative one: a rejected password (28P01) wins over the retry's
    /// answer; otherwise the last error counts.
    public static func sqlState(inErrorMessage message: String) -> String? {
        let codes = message.split(separator: "\n").compactMap { line -> String? in
            guard line.count >= 8 else { return nil }
            let code = line.suffix(5)
            guard line.dropLast(5).suffix(3) == ":  ",
                code.allSatisfy({ $0.isASCII && ($0.isUppercase || $0.isNumber) })
            else { return nil }
            return String(code)
        }
        return codes.contains("28P01") ? "28P01" : codes.last
    }

    /// Whether the established connection uses TLS.
    public var usesTLS: Bool {
        handle.map { PQsslInUse($0) != 0 } ?? false
    }

    /// Switches the established connection to non-blocking sends.
    public func setNonBlocking() {
        if let handle { PQsetnonblocking(handle, 1) }
    }

    /// Sends a query with text parameters (`PQsendQueryParams`); false if it could not be queued.
    public func sendQuery(_ sql: String, parameters: [String] = []) -> Bool {
        guard let handle else { return false }
        let copies = parameters.map { strdup($0) }
        defer { copies.forEach { free($0) } }
        let pointers = copies.map { UnsafePointer($0) }
        return pointers.withUnsafeBufferPointer { values in
            PQsendQueryParams(handle, sql, Int32(parameters.count), nil, values.baseAddress, nil, nil, 0) == 1
        }
    }

    /// When the server's TLS certificate expires, in seconds since 1970; nil without TLS.
    public var peerCertificateNotAfter: Int64? {
        guard let handle else { return nil }
        let seconds = ccertificate_peer_not_after(PQsslStruct(handle, "OpenSSL"))
        return seconds >= 0 ? Int64(seconds) : nil
    }

    /// Sends `;`-separated statements in the simple query protocol (`PQsendQuery`), each giving
    /// its own result; false if they could not be queued.
    public func sendStatements(_ sql: String) -> Bool {
        guard let handle else { return false }
        return PQsendQuery(handle, sql) == 1
    }

    /// `text` as a quoted SQL literal for this connection's encoding (`PQescapeLiteral`).
    public func literal(_ text: String) -> String? {
        guard let handle, let quoted = PQescapeLiteral(handle, text, text.utf8.count) else { return nil }
        defer { PQfreemem(quoted) }
        return String(cString: quoted)
    }

    /// Sends buffered output (`PQflush`).
    public func flush() -> PostgresFlushResult {
        guard let handle else { return .failed }
        switch PQflush(handle) {
        case 0: return .done
        case 1: return .pending
        default: return .failed
        }
    }

    /// Reads what the socket has (`PQconsumeInput`); false on a connection error.
    public func consumeInput() -> Bool {
        guard let handle else { return false }
        return PQconsumeInput(handle) == 1
    }

    /// Whether a result is still being received (`PQisBusy`).
    public var isBusy: Bool {
        guard let handle else { return false }
        return PQisBusy(handle) == 1
    }

    /// The next result of the query, or `nil` when there are no more (`PQgetResult`).
    public func nextResult() -> PostgresQueryResult? {
        guard let handle, let result = PQgetResult(handle) else { return nil }
        defer { PQclear(result) }
        let status = PQresultStatus(result)
        let ok = status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK
        let sqlState = clibpq_result_sqlstate(result).map { String(cString: $0) }
        var first: String?
        if ok, PQntuples(result) > 0, PQnfields(result) > 0, PQgetisnull(result, 0, 0) == 0 {
            first = String(cString: PQgetvalue(result, 0, 0))
        }
        return PostgresQueryResult(ok: ok, sqlState: sqlState, firstValue: first)
    }

    func withHandle<T>(_ body: (OpaquePointer) -> T) -> T? {
        handle.map(body)
    }

    /// Closes the connection and frees the handle (`PQfinish`); later calls do nothing.
    public func finish() {
        if let handle {
            PQfinish(handle)
            self.handle = nil
            Self.live.subtract(1, ordering: .relaxed)
        }
    }
}

/// Process-wide libpq settings.
public enum PostgresEnvironment {
    /// libpq fills parameters the caller leaves empty from `PG*` environment variables (a
    /// password among them) and reads `~/.pgpass`; a probe must use only what it was given.
    /// Removes those variables once; call before the first connection, ideally at start-up.
    public static func isolate() {
        _ = isolated
    }

    private static let isolated: Bool = {
        for (name, _) in ProcessInfo.processInfo.environment where name.hasPrefix("PG") {
            unsetenv(name)
        }
        return true
    }()
}

extension PostgresConnection {
    /// Whether the server asked for a password and none was supplied (`PQconnectionNeedsPassword`).
    public var needsPassword: Bool {
        withHandle { PQconnectionNeedsPassword($0) == 1 } ?? false
    }
}
