import CCertificate
import CMariaDB
import CResolver
import Glibc
import Synchronization

/// What a suspended non-blocking MariaDB call waits for (`MYSQL_WAIT_*` bits).
public struct MariaDBWait: OptionSet, Sendable, Hashable {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let read = MariaDBWait(rawValue: MYSQL_WAIT_READ)
    public static let write = MariaDBWait(rawValue: MYSQL_WAIT_WRITE)
    public static let except = MariaDBWait(rawValue: MYSQL_WAIT_EXCEPT)
    public static let timeout = MariaDBWait(rawValue: MYSQL_WAIT_TIMEOUT)

    /// Whether the call finished (nothing to wait for).
    public var isComplete: Bool { isEmpty }
}

/// TLS settings of a MariaDB connection.
public struct MariaDBTLS: Sendable {
    /// Path of a PEM file of CA certificates, or `nil` for the system's CA directory.
    public var caFile: String?
    /// Path of a directory of hashed CA certificates, used when `caFile` is `nil`.
    public var caDirectory: String?
    /// Whether the server certificate and host name must verify.
    public var verifyServerCertificate: Bool

    public init(caFile: String?, caDirectory: String?, verifyServerCertificate: Bool) {
        self.caFile = caFile
        self.caDirectory = caDirectory
        self.verifyServerCertificate = verifyServerCertificate
    }
}

/// One MariaDB Connector/C connection (`MYSQL*`) in non-blocking mode.
///
/// Not thread-safe: exactly one thread at a time may call it (the thread that owns the probe),
/// and ``close()`` releases the handle exactly once.
public final class MariaDBConnection: @unchecked Sendable {
    private var handle: UnsafeMutablePointer<MYSQL>?
    private var queryText: [CChar] = []
    private var connectArguments: [UnsafeMutablePointer<CChar>?] = []
    private var result: UnsafeMutablePointer<MYSQL_RES>?

    /// Handles created and not yet closed, process-wide: a leak check for tests.
    public static var openHandles: Int { live.load(ordering: .relaxed) }
    private static let live = Atomic<Int>(0)

    /// Authentication plugins a probe may use. `sha256_password` only over TLS: without it the
    /// client takes the server's RSA key from the connection, which a man in the middle can
    /// replace to read the password.
    static func allowedAuthPlugins(tls: Bool) -> String {
        "mysql_native_password,caching_sha2_password,client_ed25519" + (tls ? ",sha256_password" : "")
    }

    /// Stack size of the driver's coroutine for non-blocking calls.
    static let coroutineStackBytes = 256 * 1024

    /// Creates a handle set up for a non-blocking TCP connection.
    public init(tls: MariaDBTLS?) {
        MariaDBLibrary.initialize()
        handle = mysql_init(nil)
        guard let handle else { return }
        Self.live.add(1, ordering: .relaxed)
        // The driver runs each non-blocking call on a coroutine stack of this size; TLS and a
        // name lookup (see MySQLProbe) need more than the library's default.
        _ = cmariadb_options_size(handle, MYSQL_OPT_NONBLOCK, Self.coroutineStackBytes)
        _ = cmariadb_options_uint(handle, MYSQL_OPT_PROTOCOL, UInt32(MYSQL_PROTOCOL_TCP.rawValue))
        _ = cmariadb_options_uint(handle, MYSQL_OPT_LOCAL_INFILE, 0)
        // A server may switch the client to any installed auth plugin; `dialog` would prompt on the
        // terminal (blocking a reactor) and `mysql_clear_password` sends the password in clear.
        _ = cmariadb_options_bool(handle, MYSQL_ENABLE_CLEARTEXT_PLUGIN, 0)
        _ = cmariadb_options_string(handle, MARIADB_OPT_RESTRICTED_AUTH, Self.allowedAuthPlugins(tls: tls != nil))
        if let tls {
            // Any CA makes the driver verify the chain, so none is given when verification is off.
            if tls.verifyServerCertificate {
                _ = mysql_ssl_set(handle, nil, nil, tls.caFile, tls.caFile == nil ? tls.caDirectory : nil, nil)
            }
            _ = cmariadb_options_bool(handle, MYSQL_OPT_SSL_ENFORCE, 1)
            _ = cmariadb_options_bool(handle, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, tls.verifyServerCertificate ? 1 : 0)
        }
    }

    deinit {
        close()
    }

    /// The connection's socket, or -1 before it exists.
    public var socket: Int32 {
        guard let handle else { return -1 }
        let fd = mysql_get_socket(handle)
        return fd == MARIADB_INVALID_SOCKET ? -1 : Int32(fd)
    }

    /// Starts connecting (`mysql_real_connect_start`). A numeric `host` avoids a blocking lookup.
    ///
    /// The driver keeps using the strings after this call returns (its coroutine resumes in
    /// ``continueConnect(_:)``), so they are copied and live until ``close(pending:)``.
    /// - Parameter address: the numeric address to connect to. The driver is given `host` (which
    ///   its TLS verification checks the certificate against) but its lookup of `host` answers
    ///   `address`: no DNS query, and no packet to any other address.
    public func startConnect(host: String, address: String, port: Int, user: String, password: String, database: String?) -> MariaDBWait {
        guard let handle else { return [] }
        let arguments: [UnsafeMutablePointer<CChar>?] = [
            strdup(host), strdup(user), strdup(password), database.flatMap { strdup($0) }, strdup(address),
        ]
        connectArguments = arguments
        var connected: UnsafeMutablePointer<MYSQL>?
        // The driver resolves the name inside this first call, before its first wait.
        resolver_pin_set(arguments[0], arguments[4])
        defer { resolver_pin_clear() }
        let status = mysql_real_connect_start(
            &connected, handle, arguments[0], arguments[1], arguments[2], arguments[3], UInt32(port), nil, 0)
        return MariaDBWait(rawValue: status)
    }

    /// Resumes connecting after `ready` happened on the socket.
    public func continueConnect(_ ready: MariaDBWait) -> MariaDBWait {
        guard let handle else { return [] }
        var connected: UnsafeMutablePointer<MYSQL>?
        return MariaDBWait(rawValue: mysql_real_connect_cont(&connected, handle, ready.rawValue))
    }

    /// Starts a query (`mysql_real_query_start`).
    public func startQuery(_ sql: String) -> MariaDBWait {
        guard let handle else { return [] }
        queryText = Array(sql.utf8CString)
        var failed: Int32 = 0
        let length = UInt(queryText.count - 1)
        let status = queryText.withUnsafeBufferPointer {
            mysql_real_query_start(&failed, handle, $0.baseAddress, length)
        }
        return MariaDBWait(rawValue: status)
    }

    /// Resumes the query.
    public func continueQuery(_ ready: MariaDBWait) -> MariaDBWait {
        guard let handle else { return [] }
        var failed: Int32 = 0
        return MariaDBWait(rawValue: mysql_real_query_cont(&failed, handle, ready.rawValue))
    }

    /// Starts reading the query's result (`mysql_store_result_start`).
    public func startStoreResult() -> MariaDBWait {
        guard let handle else { return [] }
        return MariaDBWait(rawValue: mysql_store_result_start(&result, handle))
    }

    /// Resumes reading the result.
    public func continueStoreResult(_ ready: MariaDBWait) -> MariaDBWait {
        guard let handle else { return [] }
        return MariaDBWait(rawValue: mysql_store_result_cont(&result, handle, ready.rawValue))
    }

    /// Whether a stored result arrived; frees it.
    public func takeResult() -> Bool {
        guard let stored = result else { return false }
        mysql_free_result(stored)
        result = nil
        return true
    }

    /// Whether the established connection uses TLS (`mysql_get_ssl_cipher`).
    public var usesTLS: Bool {
        guard let handle else { return false }
        return mysql_get_ssl_cipher(handle) != nil
    }

    /// When the server's TLS certificate expires, in seconds since 1970; nil without TLS.
    public var peerCertificateNotAfter: Int64? {
        guard let handle else { return nil }
        let seconds = ccertificate_peer_not_after(cmariadb_openssl_session(handle))
        return seconds >= 0 ? Int64(seconds) : nil
    }

    /// The error number of the last call (`mysql_errno`), 0 for none.
    public var errorNumber: UInt32 {
        handle.map { mysql_errno($0) } ?? 0
    }

    /// The SQLSTATE of the last error.
    public var sqlState: String {
        guard let handle, let state = mysql_sqlstate(handle) else { return "HY000" }
        return String(cString: state)
    }

    /// Frees the handle (`mysql_close`); later calls do nothing. If a non-blocking call is still
    /// suspended, its socket is shut down and the call driven to its (failed) end first, so the
    /// library's coroutine is not abandoned mid-way.
    public func close(pending: MariaDBWait = []) {
        guard let handle else { return }
        if !pending.isComplete {
            let fd = socket
            if fd >= 0 { MariaDBSocket.shutDown(fd) }
            var waiting = pending
            var rounds = 0
            while !waiting.isComplete && rounds < 64 {
                waiting = resumeSuspended(waiting)
                rounds += 1
            }
        }
        if let stored = result {
            mysql_free_result(stored)
            result = nil
        }
        mysql_close(handle)
        self.handle = nil
        Self.live.subtract(1, ordering: .relaxed)
        connectArguments.forEach { free($0) }
        connectArguments = []
    }

    /// The suspended call to resume; set by the probe as it moves between phases.
    public var suspendedCall: SuspendedCall = .connect

    /// Which non-blocking call is suspended.
    public enum SuspendedCall: Sendable {
        case connect, query, storeResult
    }

    private func resumeSuspended(_ waiting: MariaDBWait) -> MariaDBWait {
        let ready = waiting.intersection([.read, .write])
        switch suspendedCall {
        case .connect: return continueConnect(ready.isEmpty ? .read : ready)
        case .query: return continueQuery(ready.isEmpty ? .read : ready)
        case .storeResult: return continueStoreResult(ready.isEmpty ? .read : ready)
        }
    }
}

/// Process-wide Connector/C set-up.
enum MariaDBLibrary {
    static func initialize() {
        _ = initialized
    }

    private static let initialized: Bool = {
        cmariadb_library_init() == 0
    }()
}

/// Error numbers of MariaDB Connector/C and the server that probes classify.
public enum MariaDBError {
    public static let accessDenied: UInt32 = UInt32(ER_ACCESS_DENIED_ERROR)  // 1045
    public static let databaseAccessDenied: UInt32 = UInt32(ER_DBACCESS_DENIED_ERROR)  // 1044
    public static let badDatabase: UInt32 = UInt32(ER_BAD_DB_ERROR)  // 1049
    public static let hostNotPrivileged: UInt32 = UInt32(ER_HOST_NOT_PRIVILEGED)  // 1130
    public static let hostBlocked: UInt32 = UInt32(ER_HOST_IS_BLOCKED)  // 1129
    public static let tooManyConnections: UInt32 = UInt32(ER_CON_COUNT_ERROR)  // 1040
    public static let tooManyUserConnections: UInt32 = UInt32(ER_TOO_MANY_USER_CONNECTIONS)  // 1203
    public static let userLimitReached: UInt32 = UInt32(ER_USER_LIMIT_REACHED)  // 1226
    public static let accountLocked: UInt32 = 4151  // ER_ACCOUNT_HAS_BEEN_LOCKED (MariaDB)
    public static let mysqlAccountLocked: UInt32 = 3118  // ER_ACCOUNT_HAS_BEEN_LOCKED (MySQL 8)
    public static let secureTransportRequired: UInt32 = 3159  // ER_SECURE_TRANSPORT_REQUIRED (MySQL 8)
    public static let authPluginError: UInt32 = 2061  // CR_AUTH_PLUGIN_ERR: e.g. caching_sha2 needs TLS
    public static let passwordExpired: UInt32 = 1820  // ER_MUST_CHANGE_PASSWORD
    public static let passwordExpiredLogin: UInt32 = 1862  // ER_MUST_CHANGE_PASSWORD_LOGIN
    public static let accessDeniedNoPassword: UInt32 = 1698  // ER_ACCESS_DENIED_NO_PASSWORD_ERROR
    public static let serverShutdown: UInt32 = UInt32(ER_SERVER_SHUTDOWN)  // 1053
    public static let outOfResources: UInt32 = UInt32(ER_OUT_OF_RESOURCES)  // 1041
    public static let handshakeError: UInt32 = UInt32(ER_HANDSHAKE_ERROR)  // 1043

    public static let connectionError: UInt32 = UInt32(CR_CONNECTION_ERROR)  // 2002
    public static let connectHostError: UInt32 = UInt32(CR_CONN_HOST_ERROR)  // 2003
    public static let unknownHost: UInt32 = UInt32(CR_UNKNOWN_HOST)  // 2005
    public static let serverGone: UInt32 = UInt32(CR_SERVER_GONE_ERROR)  // 2006
    public static let serverHandshake: UInt32 = UInt32(CR_SERVER_HANDSHAKE_ERR)  // 2012
    public static let serverLost: UInt32 = UInt32(CR_SERVER_LOST)  // 2013
    public static let sslConnection: UInt32 = UInt32(CR_SSL_CONNECTION_ERROR)  // 2026
    public static let malformedPacket: UInt32 = UInt32(CR_MALFORMED_PACKET)  // 2027
    public static let authPluginCannotLoad: UInt32 = UInt32(CR_AUTH_PLUGIN_CANNOT_LOAD)  // 2059
    public static let versionError: UInt32 = UInt32(CR_VERSION_ERROR)  // 2007
}
