import CLinuxIO
import Glibc

/// A TCP connection of a driver that speaks its protocol itself: non-blocking, close-on-exec,
/// without Nagle's delay. Owned by one thread (a probe's reactor); ``close()`` ends it.
public final class TCPSocket {
    /// What a read or a write did.
    public enum Progress: Equatable {
        /// This many bytes moved.
        case moved(Int)
        /// Nothing can move until the socket is ready again.
        case wouldBlock
        /// The peer closed its side (reads only).
        case closed
        /// The connection failed with this errno.
        case failed(Int32)
    }

    public private(set) var fd: Int32 = -1

    public init() {}

    deinit { close() }

    /// Starts connecting to `address`:`port`. - Returns: 0 when connected or under way (wait
    /// until writable, then read ``SocketState/pendingError(_:)``), else the errno.
    public func connect(to address: IPAddress, port: Int) -> Int32 {
        let family = address.isV4 ? AF_INET : AF_INET6
        fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return errno }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        let result: Int32
        switch address {
        case .v4(let value):
            var socketAddress = sockaddr_in()
            socketAddress.sin_family = sa_family_t(AF_INET)
            socketAddress.sin_port = in_port_t(UInt16(port).bigEndian)
            socketAddress.sin_addr = in_addr(s_addr: value.bigEndian)
            result = withUnsafePointer(to: &socketAddress) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        case .v6(let bytes):
            var socketAddress = sockaddr_in6()
            socketAddress.sin6_family = sa_family_t(AF_INET6)
            socketAddress.sin6_port = in_port_t(UInt16(port).bigEndian)
            withUnsafeMutableBytes(of: &socketAddress.sin6_addr) { $0.copyBytes(from: bytes) }
            result = withUnsafePointer(to: &socketAddress) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        }
        if result == 0 || errno == EINPROGRESS { return 0 }
        return errno
    }

    /// Reads what is there, up to `buffer`'s size.
    public func read(into buffer: UnsafeMutableRawBufferPointer) -> Progress {
        let count = recv(fd, buffer.baseAddress, buffer.count, 0)
        if count > 0 { return .moved(count) }
        if count == 0 { return .closed }
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? .wouldBlock : .failed(errno)
    }

    /// Writes what the socket takes of `bytes`.
    public func write(_ bytes: UnsafeRawBufferPointer) -> Progress {
        let count = send(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL))
        if count >= 0 { return .moved(count) }
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? .wouldBlock : .failed(errno)
    }

    /// Closes the socket; later calls do nothing.
    public func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }
}

extension IPAddress {
    /// Whether this is an IPv4 address.
    public var isV4: Bool {
        if case .v4 = self { return true }
        return false
    }
}
