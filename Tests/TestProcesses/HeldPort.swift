import Glibc

/// A loopback TCP port this test holds for as long as the value lives, so no other test can take
/// it: listening (a busy port: another bind fails), or bound only (a closed port: a connection
/// is refused at once).
public final class HeldPort: @unchecked Sendable {
    public let port: Int
    private let fd: Int32

    /// - Parameter listening: accept connections into the backlog (never served), or refuse them.
    public init(listening: Bool) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemCallError(call: "socket", code: errno) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let held = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && (!listening || listen(fd, 8) == 0) && getsockname(fd, pointer, &length) == 0
            }
        }
        guard held else {
            let code = errno
            close(fd)
            throw SystemCallError(call: "bind", code: code)
        }
        self.fd = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(fd) }
}
