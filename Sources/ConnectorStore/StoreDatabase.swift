@preconcurrency import AsyncKit
import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresKit
import PostgresNIO
import SQLKit
import SQLiteKit
import Synchronization

/// Where the store lives: an embedded SQLite file, or a PostgreSQL server shared by replicas.
public enum StoreLocation: Sendable, Equatable {
    case sqlite(path: String)
    case postgres(url: String)

    /// `DATABASE_URL` when set, otherwise `<dataDirectory>/connector-engine.sqlite`.
    public static func from(environment: [String: String], dataDirectory: String) -> StoreLocation {
        if let url = environment["DATABASE_URL"], !url.isEmpty { return .postgres(url: url) }
        return .sqlite(path: (dataDirectory as NSString).appendingPathComponent("connector-engine.sqlite"))
    }

    /// A description safe for a log line or banner: never the password of a URL.
    public var redacted: String {
        switch self {
        case .sqlite(let path): return "SQLite file \(path)"
        case .postgres(let url):
            guard var parts = URLComponents(string: url) else { return "PostgreSQL (unparseable DATABASE_URL)" }
            if parts.password != nil { parts.password = "********" }
            return "PostgreSQL \(parts.string ?? "")"
        }
    }
}

/// A failure of the store itself, phrased for an operator; never carries a secret.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Which integrity rule a write broke, read from the database's structured error code
/// (SQLite extended result codes, PostgreSQL SQLSTATE), never from message text.
public enum ConstraintViolation: Sendable, Equatable {
    case unique
    case foreignKey

    /// Classifies an error thrown by either backend; nil when it is not a constraint violation.
    public static func classify(_ error: any Error) -> ConstraintViolation? {
        if let error = error as? SQLiteError {
            switch error.reason {
            case .constraintUniqueFailed, .constraintPrimaryKeyFailed: return .unique
            case .constraintForeignKeyFailed: return .foreignKey
            default: return nil
            }
        }
        if let error = error as? PSQLError, let state = error.serverInfo?[.sqlState] {
            switch state {
            case "23505": return .unique
            case "23503": return .foreignKey
            default: return nil
            }
        }
        return nil
    }
}

/// A write the store's storage refused, read from the database's structured error code (SQLite
/// result codes, PostgreSQL SQLSTATE): nothing of it was kept (its transaction rolled back), and
/// reads go on.
public struct StoreWriteRefused: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Reason: Sendable, Equatable {
        /// The disk is full (SQLITE_FULL, SQLSTATE 53100).
        case diskFull
        /// The store can only be read: a read-only file or folder (SQLITE_READONLY and its
        /// variants) or a read-only PostgreSQL database or standby (SQLSTATE 25006).
        case readOnly
        /// Writing or syncing the file failed (SQLITE_IOERR's write, sync and truncate codes).
        case ioError
    }

    public let reason: Reason

    public var description: String {
        switch reason {
        case .diskFull: "the store's disk is full"
        case .readOnly: "the store is read-only"
        case .ioError: "the store's disk failed a write"
        }
    }

    /// Classifies an error thrown by either backend; nil when it is something else.
    public static func classify(_ error: any Error) -> StoreWriteRefused? {
        if let error = error as? SQLiteError {
            switch error.reason {
            case .full: return StoreWriteRefused(reason: .diskFull)
            case .readOnly, .readonlyDirectory, .readonlyCantLock, .readonlyInRecovery, .readonlyInRollback, .readonlyBackingMoved:
                return StoreWriteRefused(reason: .readOnly)
            case .ioErrorFailedWrite, .ioErrorFailedSync, .ioErrorFailedDirSync, .ioErrorFailedTruncate:
                return StoreWriteRefused(reason: .ioError)
            default: return nil
            }
        }
        if let error = error as? PSQLError, let state = error.serverInfo?[.sqlState] {
            switch state {
            case "53100": return StoreWriteRefused(reason: .diskFull)
            case "25006": return StoreWriteRefused(reason: .readOnly)
            default: return nil
            }
        }
        return nil
    }
}

/// The connection layer under the store: one SQLKit surface over an SQLite connection pool or a
/// PostgreSQL client. Reads run on any pooled connection; ``write(_:)`` runs a closure inside one
/// transaction on one connection and commits only if the closure returns.
///
/// A database is open only inside ``withDatabase(_:logger:timeout:_:)``: the PostgreSQL client's
/// connection pool runs in a child task of that call and stops when its body returns, so no task
/// outlives it and nothing closes the connections while a caller still uses them.
public final class StoreDatabase: Sendable {
    public enum Backend: String, Sendable { case sqlite, postgres }

    public let backend: Backend
    private let sqlitePool: EventLoopGroupConnectionPool<SQLiteConnectionSource>?
    private let postgres: PostgresStoreClient?
    /// SQLite allows one writer; taking turns in-process avoids spinning on SQLITE_BUSY.
    private let writeTurn = AsyncTurnstile()
    private let logger: Logger

    /// Opened read-only (an SQLite store that cannot be written): every write is refused.
    public let isReadOnly: Bool

    private init(
        backend: Backend, sqlitePool: EventLoopGroupConnectionPool<SQLiteConnectionSource>?, postgres: PostgresStoreClient?,
        readOnly: Bool = false, logger: Logger
    ) {
        self.backend = backend
        self.isReadOnly = readOnly
        self.sqlitePool = sqlitePool
        self.postgres = postgres
        self.logger = logger
    }

    /// Opens the store's database, runs `body` with it and closes it when `body` returns or
    /// throws. SQLite files are created with their folder (mode 0700).
    /// - Parameter timeout: how long a request waits for a PostgreSQL connection before it fails
    ///   with ``StoreUnavailable``.
    public static func withDatabase<R>(
        _ location: StoreLocation, logger: Logger, timeout: Duration = .seconds(3), _ body: (StoreDatabase) async throws -> R
    ) async throws -> R {
        switch location {
        case .sqlite(let path):
            let folder = (path as NSString).deletingLastPathComponent
            if !folder.isEmpty && !FileManager.default.fileExists(atPath: folder) {
                try FileManager.default.createDirectory(
                    atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            }
            // A store that exists but cannot be written (a read-only file or file system) opens
            // read-only: SQLite cannot read a WAL database without writing beside it, but reads
            // an immutable one as it is. Immutable ignores the write-ahead log, so a store whose
            // last writer left one (a crash, a disk remounted read-only) is refused rather than
            // read without its newest commits; immutable also assumes nobody else writes it.
            let readOnly =
                FileManager.default.fileExists(atPath: path) && (access(path, W_OK) != 0 || access(folder.isEmpty ? "." : folder, W_OK) != 0)
            if readOnly {
                let log = (try? FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int) ?? 0
                guard log == 0 else {
                    throw StoreError(
                        "the SQLite store at \(path) is read-only but its write-ahead log holds commits not yet in the file; open it once where it can be written"
                    )
                }
                logger.warning("the SQLite store is read-only: reads are served, writes refused", metadata: ["store.path": "\(path)"])
            }
            let storage = readOnly ? "file:\(path.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? path)?immutable=1" : path
            let source = SQLiteConnectionSource(
                configuration: SQLiteConfiguration(storage: .file(path: storage), enableForeignKeys: true))
            let pool = EventLoopGroupConnectionPool(
                source: source, maxConnectionsPerEventLoop: 2, logger: logger, on: MultiThreadedEventLoopGroup.singleton)
            let database = StoreDatabase(backend: .sqlite, sqlitePool: pool, postgres: nil, readOnly: readOnly, logger: logger)
            // WAL lets readers proceed while one writer commits; the setting lives in the file.
            return try await database.run(
                body, after: readOnly ? "SELECT 1" : "PRAGMA journal_mode = WAL",
                failing: { "cannot open the SQLite store at \(path): \($0)" }, close: { try? await pool.shutdownAsync() })
        case .postgres(let url):
            var clientConfiguration = try Self.postgresConfiguration(url: url)
            clientConfiguration.options.maximumConnections = 16
            let client = PostgresStoreClient(configuration: clientConfiguration, timeout: timeout, logger: logger)
            let database = StoreDatabase(backend: .postgres, sqlitePool: nil, postgres: client, logger: logger)
            return try await withThrowingDiscardingTaskGroup(returning: R.self) { pool in
                // Cancelling the clients' run closes their connections.
                pool.addTask { await client.run() }
                return try await database.run(
                    body, after: "SELECT 1",
                    failing: { "cannot reach the PostgreSQL store \(location.redacted): \(String(reflecting: $0).prefix(200))" },
                    close: { pool.cancelAll() })
            }
        }
    }

    /// Runs `query` (its failure is the start-up error `failing` describes), then `body`; `close`
    /// runs after either, whether it returned or threw.
    private func run<R>(
        _ body: (StoreDatabase) async throws -> R, after query: SQLQueryString, failing: (any Error) -> String,
        close: () async -> Void
    ) async throws -> R {
        do {
            do {
                try await read { db in try await db.raw(query).run() }
            } catch {
                throw StoreError(failing(error))
            }
            let result = try await body(self)
            await close()
            return result
        } catch {
            await close()
            throw error
        }
    }

    /// Client settings from `postgres://user:password@host:port/database?sslmode=disable|prefer|require`.
    static func postgresConfiguration(url: String) throws -> PostgresClient.Configuration {
        guard let parts = URLComponents(string: url), ["postgres", "postgresql"].contains(parts.scheme ?? ""),
            let host = parts.host, !host.isEmpty, let user = parts.user
        else {
            throw StoreError("DATABASE_URL is not a usable PostgreSQL URL (postgres://user:password@host:port/database)")
        }
        let database = String(parts.path.drop(while: { $0 == "/" }))
        let mode = parts.queryItems?.first(where: { $0.name == "sslmode" })?.value ?? "prefer"
        let tls: PostgresClient.Configuration.TLS
        switch mode {
        case "disable": tls = .disable
        case "prefer", "allow": tls = .prefer(.makeClientConfiguration())
        case "require", "verify-ca", "verify-full": tls = .require(.makeClientConfiguration())
        default: throw StoreError("DATABASE_URL sslmode must be disable, prefer or require")
        }
        return PostgresClient.Configuration(
            host: host, port: parts.port ?? 5432, username: user.removingPercentEncoding ?? user,
            password: parts.password?.removingPercentEncoding, database: database.isEmpty ? nil : database, tls: tls)
    }

    /// Runs `body` on one pooled connection (no transaction).
    public func read<R: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        if let sqlitePool {
            let logger = self.logger
            return try await sqlitePool.withConnection(logger: logger) { connection in
                connection.eventLoop.makeFutureWithTask { try await body(connection.sql(queryLogLevel: nil)) }
            }.get()
        }
        guard let postgres else { throw StoreError("the store has no database client") }
        return try await postgres.withConnection { connection in
            try await body(connection.sql(queryLogLevel: nil))
        }
    }

    /// Runs `body` inside one transaction; a thrown error rolls everything back.
    /// - Throws: ``StoreWriteRefused`` when the storage refused the write (a full disk, a
    ///   read-only store), else what `body` or the database threw.
    public func write<R: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        do {
            return try await transaction(body)
        } catch {
            throw StoreWriteRefused.classify(error) ?? error
        }
    }

    private func transaction<R: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        let begin = backend == .sqlite ? "BEGIN IMMEDIATE" : "BEGIN"
        let transaction: @Sendable (any SQLDatabase) async throws -> R = { db in
            try await db.raw(SQLQueryString(begin)).run()
            do {
                let result = try await body(db)
                try await db.raw("COMMIT").run()
                return result
            } catch {
                try? await db.raw("ROLLBACK").run()
                throw error
            }
        }
        if backend == .sqlite {
            return try await writeTurn.withTurn { try await self.read(transaction) }
        }
        return try await read(transaction)
    }
}

/// A first-come, first-served async mutex: `withTurn` runs its body while no other body runs.
final class AsyncTurnstile: Sendable {
    private let state = Mutex(State())
    private struct State {
        var busy = false
        var waiting: [CheckedContinuation<Void, Never>] = []
    }

    func withTurn<R: Sendable>(_ body: () async throws -> R) async throws -> R {
        await acquire()
        defer { release() }
        return try await body()
    }

    private func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { state -> Bool in
                if state.busy {
                    state.waiting.append(continuation)
                    return false
                }
                state.busy = true
                return true
            }
            if ready { continuation.resume() }
        }
    }

    private func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiting.isEmpty {
                state.busy = false
                return nil
            }
            return state.waiting.removeFirst()
        }
        next?.resume()
    }
}
