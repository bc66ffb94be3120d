/// Where and how to reach one Redis server.
public struct RedisConfiguration: Sendable {
    /// A host name or IP address (IPv6 without brackets).
    public var host: String
    public var port: Int
    /// The database `SELECT`ed on every new connection.
    public var database: Int
    /// An ACL user; `nil` authenticates as the default user (`AUTH password`).
    public var username: String?
    /// The password for `AUTH`; `nil` sends no `AUTH`.
    public var password: String?
    /// Whether to speak TLS (`rediss://`). The server certificate is verified against the system's
    /// roots, or against `caFile` alone when one is given, and must name `host`.
    public var tls: Bool
    /// A PEM file of the CA certificates to trust for TLS.
    public var caFile: String?
    /// The most connections open at once (at least 1); a command waits for a free one beyond that.
    public var poolSize: Int = 4
    /// The time to open a connection, including TLS, `AUTH` and `SELECT`.
    public var connectTimeout: Duration = .seconds(2)
    /// The time for one command's reply, and the longest a command waits for a free connection.
    public var commandTimeout: Duration = .seconds(2)

    /// A configuration from its parts; the timeouts and pool size take their defaults.
    public init(
        host: String, port: Int = 6379, database: Int = 0, username: String? = nil, password: String? = nil,
        tls: Bool = false, caFile: String? = nil
    ) {
        self.host = host
        self.port = port
        self.database = database
        self.username = username
        self.password = password
        self.tls = tls
        self.caFile = caFile
    }

    /// Parses `redis://[user:pass@]host[:port][/db]` and the same with `rediss://` (TLS).
    ///
    /// The user and password are percent-decoded; the port defaults to 6379 and the database to 0.
    /// `redis://:pass@host` authenticates as the default user.
    /// - Parameters:
    ///   - url: The URL. It is never repeated in an error, since it may hold a password.
    ///   - caFile: A PEM file of CA certificates for `rediss://`.
    /// - Throws: `RedisURLError` naming the part that is wrong.
    public init(url: String, caFile: String? = nil) throws(RedisURLError) {
        let parts = try RedisURLParser.parse(url)
        self.init(
            host: parts.host, port: parts.port, database: parts.database, username: parts.username,
            password: parts.password, tls: parts.tls, caFile: caFile)
    }
}

extension RedisConfiguration: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The URL form, the password shown as `***`.
    public var description: String {
        let credentials =
            switch (username, password) {
            case (nil, nil): ""
            case (let user?, nil): "\(user)@"
            case (let user, _?): "\(user ?? ""):***@"
            }
        let host = self.host.contains(":") ? "[\(self.host)]" : self.host
        return "\(tls ? "rediss" : "redis")://\(credentials)\(host):\(port)/\(database)"
    }

    public var debugDescription: String { "RedisConfiguration(\(description))" }

    /// Keeps `dump` and the debugger from showing the password.
    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "host": host, "port": port, "database": database, "username": username as Any,
                "password": password == nil ? "nil" : "***", "tls": tls, "caFile": caFile as Any, "poolSize": poolSize,
                "connectTimeout": connectTimeout, "commandTimeout": commandTimeout,
            ])
    }
}

/// What is wrong with a Redis URL. Never carries the URL or its password.
public enum RedisURLError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The URL does not start with `redis://` or `rediss://`; carries the scheme found when it
    /// is a short word, else "".
    case unsupportedScheme(String)
    /// Nothing between `@` (or `//`) and the port or path.
    case missingHost
    /// The port is not a number from 1 to 65535.
    case invalidPort
    /// The path is not `/` followed by a non-negative database number.
    case invalidDatabase
    /// A `%` in the user or password is not followed by two hex digits, or the bytes are not UTF-8.
    case invalidPercentEncoding(component: String)
    /// A user name without a password: Redis's `AUTH` needs both.
    case userWithoutPassword
    /// Query strings and fragments (`?…`, `#…`) are not supported.
    case unsupportedQuery

    public var description: String {
        switch self {
        case .unsupportedScheme(let scheme): "Redis URL: unsupported scheme '\(scheme)' (expected redis:// or rediss://)"
        case .missingHost: "Redis URL: no host"
        case .invalidPort: "Redis URL: the port is not a number from 1 to 65535"
        case .invalidDatabase: "Redis URL: the path is not /<database number>"
        case .invalidPercentEncoding(let component): "Redis URL: bad percent-encoding in the \(component)"
        case .userWithoutPassword: "Redis URL: a user name without a password"
        case .unsupportedQuery: "Redis URL: query strings and fragments are not supported"
        }
    }
}

/// The parts of a Redis URL.
struct RedisURLParser {
    var tls: Bool
    var username: String?
    var password: String?
    var host: String
    var port: Int
    var database: Int

    static func parse(_ url: String) throws(RedisURLError) -> RedisURLParser {
        guard let colon = url.firstIndex(of: ":"), url[colon...].hasPrefix("://") else {
            throw .unsupportedScheme("")
        }
        let tls: Bool
        switch url[..<colon].lowercased() {
        case "redis": tls = false
        case "rediss": tls = true
        case let other:
            // Named only when it looks like a scheme (http, postgres), not like a stray secret.
            throw .unsupportedScheme(other.count <= 10 && other.allSatisfy { $0.isASCII && $0.isLetter } ? other : "")
        }
        let rest = url[url.index(colon, offsetBy: 3)...]
        if rest.contains("?") || rest.contains("#") { throw .unsupportedQuery }
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        let path = rest[authorityEnd...]

        var username: String?
        var password: String?
        if let at = authority.lastIndex(of: "@") {
            let userinfo = authority[..<at]
            authority = authority[authority.index(after: at)...]
            if let colon = userinfo.firstIndex(of: ":") {
                username = try decodePercent(userinfo[..<colon], component: "user name")
                password = try decodePercent(userinfo[userinfo.index(after: colon)...], component: "password")
            } else {
                username = try decodePercent(userinfo, component: "user name")
            }
            if username?.isEmpty == true { username = nil }
            if password?.isEmpty == true { password = nil }
            if username != nil, password == nil { throw .userWithoutPassword }
        }

        let host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw .missingHost }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw .invalidPort }
                portText = after.dropFirst()
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        } else {
            host = authority
        }
        guard !host.isEmpty else { throw .missingHost }

        var port = 6379
        if let portText {
            guard portText.allSatisfy(\.isASCIIDigit), portText.count <= 5, let value = Int(portText), (1...65535).contains(value)
            else { throw .invalidPort }
            port = value
        }

        var database = 0
        let databaseText = path.dropFirst()
        if !databaseText.isEmpty {
            guard databaseText.allSatisfy(\.isASCIIDigit), databaseText.count <= 9, let value = Int(databaseText) else {
                throw .invalidDatabase
            }
            database = value
        }
        return RedisURLParser(tls: tls, username: username, password: password, host: String(host), port: port, database: database)
    }

    /// Decodes `%XX` escapes; the result must be UTF-8.
    private static func decodePercent(_ text: Substring, component: String) throws(RedisURLError) -> String {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                throw .invalidPercentEncoding(component: component)
            }
            bytes.append(high << 4 | low)
        }
        let decoded = String(decoding: bytes, as: UTF8.self)
        guard Array(decoded.utf8) == bytes else { throw .invalidPercentEncoding(component: component) }
        return decoded
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
