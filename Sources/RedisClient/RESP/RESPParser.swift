import NIOCore

/// Why a reply could not be parsed. The connection that sent it is closed.
struct RESPParseError: Error, Equatable {
    var reason: String
}

/// Parses RESP2 replies from bytes, as a pure function of the buffer: either a whole value and
/// the bytes it took, or "need more data" with nothing consumed.
enum RESPParser {
    /// The largest bulk string or array accepted (Redis's own `proto-max-bulk-len` default).
    static let maximumLength = 512 * 1024 * 1024
    /// The longest status, error or integer line accepted, so that a peer that never sends
    /// `\r\n` cannot make the buffer grow without bound.
    static let maximumLineLength = 64 * 1024
    /// How deeply arrays may nest.
    static let maximumDepth = 32

    /// Reads one value from the front of `buffer`.
    /// - Returns: The value, with `buffer`'s reader index moved past it; or `nil` when the
    ///   buffer does not yet hold a whole value, with `buffer` left as it was.
    /// - Throws: `RESPParseError` for bytes that are not RESP2 or lengths past the limits.
    static func parse(_ buffer: inout ByteBuffer) throws(RESPParseError) -> RESPValue? {
        var scratch = buffer
        guard let value = try parseValue(&scratch, depth: 0) else { return nil }
        buffer.moveReaderIndex(to: scratch.readerIndex)
        return value
    }

    private static func parseValue(_ buffer: inout ByteBuffer, depth: Int) throws(RESPParseError) -> RESPValue? {
        guard let marker = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else { return nil }
        // Checked before waiting for the line's end: a peer that is not Redis fails at once.
        guard "+-:$*".utf8.contains(marker) else { throw RESPParseError(reason: "unknown reply type byte \(marker)") }
        guard let line = try readLine(&buffer) else { return nil }
        let body = line.dropFirst()
        switch marker {
        case UInt8(ascii: "+"):
            return .simpleString(String(decoding: body, as: UTF8.self))
        case UInt8(ascii: "-"):
            return .error(String(decoding: body, as: UTF8.self))
        case UInt8(ascii: ":"):
            return .integer(try integer(body))
        case UInt8(ascii: "$"):
            let length = try length(body, of: "bulk string")
            guard length >= 0 else { return .bulkString(nil) }
            guard buffer.readableBytes >= length + 2 else { return nil }
            let bytes = buffer.readBytes(length: length) ?? []
            guard buffer.readInteger(as: UInt16.self) == 0x0D0A else {
                throw RESPParseError(reason: "bulk string not followed by CRLF")
            }
            return .bulkString(bytes)
        case UInt8(ascii: "*"):
            let count = try length(body, of: "array")
            guard count >= 0 else { return .array(nil) }
            guard depth < maximumDepth else { throw RESPParseError(reason: "arrays nested too deeply") }
            var elements: [RESPValue] = []
            elements.reserveCapacity(min(count, 64))
            for _ in 0..<count {
                guard let element = try parseValue(&buffer, depth: depth + 1) else { return nil }
                elements.append(element)
            }
            return .array(elements)
        default:
            throw RESPParseError(reason: "unknown reply type byte \(marker)")
        }
    }

    /// The next line without its CRLF (marker byte included), or `nil` if it is not complete yet.
    private static func readLine(_ buffer: inout ByteBuffer) throws(RESPParseError) -> ArraySlice<UInt8>? {
        let view = buffer.readableBytesView
        let searched = view.prefix(maximumLineLength + 2)
        guard let lf = searched.firstIndex(of: UInt8(ascii: "\n")) else {
            if view.count > maximumLineLength + 1 { throw RESPParseError(reason: "reply line too long") }
            return nil
        }
        guard lf > view.startIndex, view[lf - 1] == UInt8(ascii: "\r") else {
            throw RESPParseError(reason: "line ends in LF without CR")
        }
        let line = Array(view[view.startIndex..<(lf - 1)])
        buffer.moveReaderIndex(forwardBy: lf + 1 - view.startIndex)
        return line[...]
    }

    private static func integer(_ digits: ArraySlice<UInt8>) throws(RESPParseError) -> Int64 {
        // Int64's parser alone would also take a leading "+".
        let digitsOrMinus = digits.allSatisfy { $0 == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
        guard digitsOrMinus, let value = Int64(String(decoding: digits, as: UTF8.self)) else {
            throw RESPParseError(reason: "malformed integer")
        }
        return value
    }

    /// A bulk string length or array count: -1 (null), or 0 through `maximumLength`.
    private static func length(_ digits: ArraySlice<UInt8>, of kind: String) throws(RESPParseError) -> Int {
        let value = try integer(digits)
        guard value >= -1 else { throw RESPParseError(reason: "negative \(kind) length") }
        guard value <= maximumLength else { throw RESPParseError(reason: "\(kind) length \(value) exceeds 512 MiB") }
        return Int(value)
    }
}

/// The channel handler that turns bytes into `RESPValue`s.
struct RESPDecoder: ByteToMessageDecoder {
    typealias InboundOut = RESPValue

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let value = try RESPParser.parse(&buffer) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(value))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        // A reply cut short by the end of the connection is dropped; the command waiting for it
        // fails with "connection lost".
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}
