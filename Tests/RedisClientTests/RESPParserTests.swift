import NIOCore
import NIOEmbedded
import Testing

@testable import RedisClient

@Suite struct RESPParserTests {
    private func parse(_ text: String) throws -> RESPValue? {
        var buffer = ByteBuffer(string: text)
        return try RESPParser.parse(&buffer)
    }

    private func parseError(_ text: String) -> RESPParseError? {
        do {
            _ = try parse(text)
            return nil
        } catch {
            return error as? RESPParseError
        }
    }

    @Test func everyReplyTypeParses() throws {
        #expect(try parse("+OK\r\n") == .simpleString("OK"))
        #expect(try parse("-WRONGPASS invalid username-password pair\r\n") == .error("WRONGPASS invalid username-password pair"))
        #expect(try parse(":-42\r\n") == .integer(-42))
        #expect(try parse("$5\r\nhello\r\n") == .bulkString(Array("hello".utf8)))
        #expect(try parse("$0\r\n\r\n") == .bulkString([]))
        #expect(try parse("$-1\r\n") == .bulkString(nil))
        #expect(try parse("*-1\r\n") == .array(nil))
        #expect(try parse("*0\r\n") == .array([]))
        #expect(
            try parse("*3\r\n:1\r\n*2\r\n$1\r\na\r\n$-1\r\n+x\r\n")
                == .array([.integer(1), .array([.bulkString([UInt8(ascii: "a")]), .bulkString(nil)]), .simpleString("x")]))
    }

    @Test func aBulkStringMayHoldCRLFAndNUL() throws {
        let bytes: [UInt8] = [0, 13, 10, 36, 45, 49, 13, 10, 255]
        var buffer = ByteBuffer(string: "$\(bytes.count)\r\n")
        buffer.writeBytes(bytes)
        buffer.writeString("\r\n")
        #expect(try RESPParser.parse(&buffer) == .bulkString(bytes))
        #expect(buffer.readableBytes == 0)
    }

    @Test func anIncompleteReplyConsumesNothingAndCompletesByteByByte() throws {
        let text = "*2\r\n$3\r\nfoo\r\n:7\r\n+PONG\r\n"
        var buffer = ByteBuffer()
        var values: [RESPValue] = []
        for byte in text.utf8 {
            buffer.writeInteger(byte)
            let before = buffer.readerIndex
            if let value = try RESPParser.parse(&buffer) {
                values.append(value)
            } else {
                #expect(buffer.readerIndex == before)
            }
        }
        #expect(values == [.array([.bulkString(Array("foo".utf8)), .integer(7)]), .simpleString("PONG")])
    }

    @Test func twoRepliesInOneBufferComeOneAtATime() throws {
        var buffer = ByteBuffer(string: ":1\r\n:2\r\n")
        #expect(try RESPParser.parse(&buffer) == .integer(1))
        #expect(try RESPParser.parse(&buffer) == .integer(2))
        #expect(try RESPParser.parse(&buffer) == nil)
    }

    @Test(arguments: [
        ("$536870913\r\n", "bulk string length 536870913 exceeds 512 MiB"),
        ("*536870913\r\n", "array length 536870913 exceeds 512 MiB"),
        ("$99999999999999999999\r\n", "malformed integer"),
        ("$-2\r\n", "negative bulk string length"),
        (":12a\r\n", "malformed integer"),
        (":+1\r\n", "malformed integer"),
        (":\r\n", "malformed integer"),
        ("!3\r\nabc\r\n", "unknown reply type byte 33"),
        ("HTTP/1.1 400 Bad Request", "unknown reply type byte 72"),
        ("+OK\n", "line ends in LF without CR"),
        ("$3\r\nabcd\r\n", "bulk string not followed by CRLF"),
    ])
    func malformedOrAbsurdRepliesAreRejected(text: String, reason: String) {
        #expect(parseError(text) == RESPParseError(reason: reason))
    }

    @Test func aLineWithoutEndIsRejectedOnceTooLong() {
        #expect(parseError("+" + String(repeating: "a", count: 1000)) == nil)
        #expect(parseError("+" + String(repeating: "a", count: RESPParser.maximumLineLength + 1)) == RESPParseError(reason: "reply line too long"))
    }

    @Test func deepNestingIsRejected() {
        let text = String(repeating: "*1\r\n", count: RESPParser.maximumDepth + 1) + ":1\r\n"
        #expect(parseError(text) == RESPParseError(reason: "arrays nested too deeply"))
        #expect(parseError(String(repeating: "*1\r\n", count: RESPParser.maximumDepth) + ":1\r\n") == nil)
    }

    @Test func theErrorCodeIsTheFirstWord() {
        #expect(RESPValue.errorCode(of: "WRONGPASS invalid username-password pair or user is disabled.") == "WRONGPASS")
        #expect(RESPValue.errorCode(of: "NOAUTH") == "NOAUTH")
        #expect(RESPValue.errorCode(of: "") == "ERR")
    }

    @Test func commandsAreEncodedAsArraysOfBulkStrings() {
        var buffer = ByteBuffer()
        RESPCommand("SET", Array("k".utf8), [0, 13, 10], Array("PX".utf8), Array("1500".utf8)).encode(into: &buffer)
        #expect(
            Array(buffer.readableBytesView) == Array("*5\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\n".utf8) + [0, 13, 10]
                + Array("\r\n$2\r\nPX\r\n$4\r\n1500\r\n".utf8))
    }

    @Test func theDecoderHandlerPassesWholeValuesOn() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(RESPDecoder()))
        try channel.writeInbound(ByteBuffer(string: "$5\r\nhel"))
        #expect(try channel.readInbound(as: RESPValue.self) == nil)
        try channel.writeInbound(ByteBuffer(string: "lo\r\n:3\r\n"))
        #expect(try channel.readInbound(as: RESPValue.self) == .bulkString(Array("hello".utf8)))
        #expect(try channel.readInbound(as: RESPValue.self) == .integer(3))
        #expect(throws: RESPParseError(reason: "bulk string length 536870913 exceeds 512 MiB")) {
            try channel.writeInbound(ByteBuffer(string: "$536870913\r\n"))
        }
        _ = try? channel.finish()
    }

    @Test func expiriesAreWholeMillisecondsRoundedUp() {
        #expect(RedisClient.wholeMilliseconds(.milliseconds(1500)) == 1500)
        #expect(RedisClient.wholeMilliseconds(.microseconds(1001)) == 2)
        #expect(RedisClient.wholeMilliseconds(.zero) == 1)
        #expect(RedisClient.wholeMilliseconds(.seconds(-5)) == 1)
        #expect(RedisClient.wholeMilliseconds(.seconds(Int64.max)) == RedisClient.longestExpiry)
    }
}
