/// The PostgreSQL frontend/backend protocol (version 3.0) as far as a credential probe speaks it:
/// the startup and authentication exchange, one simple or extended query, and Terminate. Pure
/// encoding and decoding, no I/O.

/// A message the probe sends, encoded.
public enum PostgresFrontend {
    /// Protocol 3.0, the StartupMessage's version field.
    static let protocolVersion: Int32 = 196_608
    /// The code of SSLRequest.
    static let sslRequestCode: Int32 = 80_877_103

    /// Asks the server whether it speaks TLS; it answers one byte, `S` or `N`.
    public static var sslRequest: [UInt8] {
        var bytes: [UInt8] = []
        append(Int32(8), to: &bytes)
        append(sslRequestCode, to: &bytes)
        return bytes
    }

    /// The StartupMessage with `parameters` (user, database, application_name, …) in order.
    public static func startup(_ parameters: [(name: String, value: String)]) -> [UInt8] {
        var body: [UInt8] = []
        append(protocolVersion, to: &body)
        for (name, value) in parameters {
            appendCString(name, to: &body)
            appendCString(value, to: &body)
        }
        body.append(0)
        var bytes: [UInt8] = []
        append(Int32(body.count + 4), to: &bytes)
        return bytes + body
    }

    /// PasswordMessage: a cleartext password or an MD5 response, NUL-terminated.
    public static func password(_ text: [UInt8]) -> [UInt8] {
        message("p", text + [0])
    }

    /// SASLInitialResponse: the chosen mechanism and the client-first-message.
    public static func saslInitialResponse(mechanism: String, data: [UInt8]) -> [UInt8] {
        var body: [UInt8] = []
        appendCString(mechanism, to: &body)
        append(Int32(data.count), to: &body)
        return message("p", body + data)
    }

    /// SASLResponse: the client-final-message.
    public static func saslResponse(_ data: [UInt8]) -> [UInt8] {
        message("p", data)
    }

    /// Parse, Bind and Execute of each statement (unnamed, text parameters: a parameter never
    /// becomes part of the SQL text), then one Sync. After an error the server skips to the Sync.
    public static func extendedQuery(_ statements: [(sql: String, parameters: [String])]) -> [UInt8] {
        var bytes: [UInt8] = []
        for (sql, parameters) in statements {
            var parse: [UInt8] = []
            appendCString("", to: &parse)
            appendCString(sql, to: &parse)
            append(Int16(0), to: &parse)
            var bind: [UInt8] = []
            appendCString("", to: &bind)
            appendCString("", to: &bind)
            append(Int16(0), to: &bind)  // every parameter in text format
            append(Int16(parameters.count), to: &bind)
            for parameter in parameters {
                let value = Array(parameter.utf8)
                append(Int32(value.count), to: &bind)
                bind += value
            }
            append(Int16(0), to: &bind)  // every result column in text format
            var execute: [UInt8] = []
            appendCString("", to: &execute)
            append(Int32(0), to: &execute)
            bytes += message("P", parse) + message("B", bind) + message("E", execute)
        }
        return bytes + message("S", [])
    }

    /// Terminate: the polite end of a session.
    public static var terminate: [UInt8] { message("X", []) }

    static func message(_ type: Character, _ body: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = [type.asciiValue!]
        append(Int32(body.count + 4), to: &bytes)
        return bytes + body
    }

    static func append<I: FixedWidthInteger>(_ value: I, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.bigEndian) { bytes += $0 }
    }

    static func appendCString(_ text: String, to bytes: inout [UInt8]) {
        bytes += text.utf8
        bytes.append(0)
    }
}

/// What the server asks for in an Authentication message.
public enum PostgresAuthentication: Equatable, Sendable {
    case ok
    case cleartextPassword
    case md5Password(salt: [UInt8])
    /// SASL with the mechanisms the server offers, e.g. `SCRAM-SHA-256-PLUS`, `SCRAM-SHA-256`.
    case sasl(mechanisms: [String])
    case saslContinue([UInt8])
    case saslFinal([UInt8])
    /// Kerberos, GSSAPI, SSPI and anything newer: a method the native path does not speak.
    case unsupported(code: Int32)
}

/// A message from the server.
public enum PostgresBackendMessage: Equatable, Sendable {
    case authentication(PostgresAuthentication)
    case parameterStatus(name: String, value: String)
    case backendKeyData
    /// ReadyForQuery with the transaction status (`I`, `T` or `E`).
    case readyForQuery(UInt8)
    /// ErrorResponse: its fields by type code (`C` is the SQLSTATE, `S` the severity).
    case error([UInt8: String])
    case notice
    case rowDescription
    /// DataRow: each column's text, nil for NULL.
    case dataRow([String?])
    case commandComplete
    case parseComplete
    case bindComplete
    case emptyQueryResponse
    case negotiateProtocolVersion
    /// A message type the probe has no use for.
    case other(UInt8)

    /// An ErrorResponse's SQLSTATE.
    public var sqlState: String? {
        if case .error(let fields) = self { return fields[UInt8(ascii: "C")] }
        return nil
    }
}

/// A byte stream from the server that is not the PostgreSQL protocol.
public struct PostgresWireError: Error, Equatable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// Splits the server's byte stream into messages as bytes arrive.
public struct PostgresMessageReader: Sendable {
    /// The largest message a probe accepts; nothing it waits for comes near.
    public static let maxMessageLength = 1 << 20

    private var buffer: [UInt8] = []
    private var start = 0
    private var pushedBack: PostgresBackendMessage?

    public init() {}

    /// Bytes read from the connection.
    public mutating func append(_ bytes: some Sequence<UInt8>) {
        // Bytes already decoded go, so that a stream that always ends mid-message does not grow.
        if start > 0 && (start == buffer.count || start >= 4096) {
            buffer.removeFirst(start)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// Whether bytes are waiting that do not make a whole message yet.
    public var hasPartialMessage: Bool { pushedBack == nil && start < buffer.count }

    /// Whether anything read is still waiting to be taken.
    public var isEmpty: Bool { pushedBack == nil && start == buffer.count }

    /// Takes one raw byte (the answer to SSLRequest), if one is there.
    public mutating func nextByte() -> UInt8? {
        guard start < buffer.count else { return nil }
        defer { start += 1 }
        return buffer[start]
    }

    /// Puts back the message just taken by ``next()``, to be taken again first.
    public mutating func pushBack(_ message: PostgresBackendMessage) {
        pushedBack = message
    }

    /// The next whole message; nil until more bytes arrive.
    /// - Throws: ``PostgresWireError`` when the bytes cannot be the protocol.
    public mutating func next() throws(PostgresWireError) -> PostgresBackendMessage? {
        if let message = pushedBack {
            pushedBack = nil
            return message
        }
        guard buffer.count - start >= 5 else { return nil }
        let type = buffer[start]
        let length = Int(Self.int32(buffer, at: start + 1))
        guard length >= 4, length <= Self.maxMessageLength else {
            throw PostgresWireError("a message of type \(type) claims \(length) bytes")
        }
        guard buffer.count - start >= 1 + length else { return nil }
        let body = Array(buffer[(start + 5)..<(start + 1 + length)])
        start += 1 + length
        return try Self.decode(type: type, body: body)
    }

    static func decode(type: UInt8, body: [UInt8]) throws(PostgresWireError) -> PostgresBackendMessage {
        var cursor = Cursor(bytes: body)
        switch type {
        case UInt8(ascii: "R"): return .authentication(try authentication(&cursor))
        case UInt8(ascii: "S"): return .parameterStatus(name: try cursor.cString(), value: try cursor.cString())
        case UInt8(ascii: "K"): return .backendKeyData
        case UInt8(ascii: "Z"):
            guard body.count == 1 else { throw PostgresWireError("ReadyForQuery of \(body.count) bytes") }
            return .readyForQuery(body[0])
        case UInt8(ascii: "E"): return .error(try fields(&cursor))
        case UInt8(ascii: "N"): return .notice
        case UInt8(ascii: "T"): return .rowDescription
        case UInt8(ascii: "D"): return .dataRow(try dataRow(&cursor))
        case UInt8(ascii: "C"): return .commandComplete
        case UInt8(ascii: "1"): return .parseComplete
        case UInt8(ascii: "2"): return .bindComplete
        case UInt8(ascii: "I"): return .emptyQueryResponse
        case UInt8(ascii: "v"): return .negotiateProtocolVersion
        default: return .other(type)
        }
    }

    private static func authentication(_ cursor: inout Cursor) throws(PostgresWireError) -> PostgresAuthentication {
        let code = try cursor.int32()
        switch code {
        case 0: return .ok
        case 3: return .cleartextPassword
        case 5: return .md5Password(salt: try cursor.take(4))
        case 10:
            var mechanisms: [String] = []
            while true {
                let name = try cursor.cString()
                if name.isEmpty { break }
                mechanisms.append(name)
            }
            return .sasl(mechanisms: mechanisms)
        case 11: return .saslContinue(cursor.rest())
        case 12: return .saslFinal(cursor.rest())
        default: return .unsupported(code: code)
        }
    }

    private static func fields(_ cursor: inout Cursor) throws(PostgresWireError) -> [UInt8: String] {
        var fields: [UInt8: String] = [:]
        while true {
            let code = try cursor.byte()
            if code == 0 { return fields }
            fields[code] = try cursor.cString()
        }
    }

    private static func dataRow(_ cursor: inout Cursor) throws(PostgresWireError) -> [String?] {
        let count = Int(try cursor.int16())
        guard count >= 0 else { throw PostgresWireError("a DataRow of \(count) columns") }
        var columns: [String?] = []
        for _ in 0..<count {
            let length = Int(try cursor.int32())
            columns.append(length < 0 ? nil : String(decoding: try cursor.take(length), as: UTF8.self))
        }
        return columns
    }

    static func int32(_ bytes: [UInt8], at index: Int) -> Int32 {
        Int32(bitPattern: UInt32(bytes[index]) << 24 | UInt32(bytes[index + 1]) << 16 | UInt32(bytes[index + 2]) << 8 | UInt32(bytes[index + 3]))
    }
}

/// Reads a message body front to back; running past its end is a protocol error.
private struct Cursor {
    let bytes: [UInt8]
    var index = 0

    mutating func byte() throws(PostgresWireError) -> UInt8 {
        guard index < bytes.count else { throw PostgresWireError("a message ended early") }
        defer { index += 1 }
        return bytes[index]
    }

    mutating func int16() throws(PostgresWireError) -> Int16 {
        let high = try byte()
        let low = try byte()
        return Int16(bitPattern: UInt16(high) << 8 | UInt16(low))
    }

    mutating func int32() throws(PostgresWireError) -> Int32 {
        guard index + 4 <= bytes.count else { throw PostgresWireError("a message ended early") }
        defer { index += 4 }
        return PostgresMessageReader.int32(bytes, at: index)
    }

    mutating func take(_ count: Int) throws(PostgresWireError) -> [UInt8] {
        guard count >= 0, index + count <= bytes.count else { throw PostgresWireError("a message ended early") }
        defer { index += count }
        return Array(bytes[index..<(index + count)])
    }

    mutating func cString() throws(PostgresWireError) -> String {
        guard let end = bytes[index...].firstIndex(of: 0) else { throw PostgresWireError("a string without its NUL") }
        defer { index = end + 1 }
        return String(decoding: bytes[index..<end], as: UTF8.self)
    }

    mutating func rest() -> [UInt8] {
        defer { index = bytes.count }
        return Array(bytes[index...])
    }
}
