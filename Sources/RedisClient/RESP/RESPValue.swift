/// One RESP2 reply from the server.
enum RESPValue: Sendable, Equatable {
    /// `+OK`: a status line.
    case simpleString(String)
    /// `-ERR message`: an error reply, the whole line without the `-`.
    case error(String)
    /// `:42`.
    case integer(Int64)
    /// `$n` followed by n bytes; `nil` for the null bulk string `$-1`.
    case bulkString([UInt8]?)
    /// `*n` followed by n values; `nil` for the null array `*-1`.
    case array([RESPValue]?)
}

extension RESPValue {
    /// The first word of an error reply (`WRONGPASS`, `NOAUTH`, `ERR`, `LOADING`), which Redis
    /// documents as the error's code; the rest of the line is dropped because it may echo keys.
    static func errorCode(of message: String) -> String {
        let code = message.prefix { $0 != " " }
        return code.isEmpty ? "ERR" : String(code)
    }
}
