import NIOCore

/// A command as RESP2 sends it: an array of bulk strings, the command name first.
struct RESPCommand: Sendable, Equatable {
    /// The command name and its arguments, as bytes.
    var arguments: [[UInt8]]

    init(_ name: String, _ arguments: [UInt8]...) {
        self.arguments = [Array(name.utf8)] + arguments
    }

    init(arguments: [[UInt8]]) {
        self.arguments = arguments
    }

    /// The command's name, for error messages (never its arguments, which may be secrets).
    var name: String {
        String(decoding: arguments.first ?? [], as: UTF8.self)
    }

    /// Writes `*<count>\r\n` and then `$<length>\r\n<bytes>\r\n` for each argument.
    func encode(into buffer: inout ByteBuffer) {
        buffer.writeStaticString("*")
        buffer.writeString(String(arguments.count))
        buffer.writeStaticString("\r\n")
        for argument in arguments {
            buffer.writeStaticString("$")
            buffer.writeString(String(argument.count))
            buffer.writeStaticString("\r\n")
            buffer.writeBytes(argument)
            buffer.writeStaticString("\r\n")
        }
    }
}

/// Turns each outgoing `RESPCommand` into its RESP2 bytes.
struct RESPCommandEncoder: MessageToByteEncoder {
    typealias OutboundIn = RESPCommand

    func encode(data: RESPCommand, out: inout ByteBuffer) {
        data.encode(into: &out)
    }
}
