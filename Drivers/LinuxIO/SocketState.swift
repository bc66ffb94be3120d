import CLinuxIO
import Glibc

/// Questions about a socket a driver owns, asked without disturbing the driver.
public enum SocketState {
    /// The pending error of a socket whose non-blocking connect finished (`SO_ERROR`), 0 when it
    /// connected. Reading it clears it, so ask only when the driver is known not to ask itself.
    public static func pendingError(_ fd: Int32) -> Int32 {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &value, &length) == 0 else { return errno }
        return value
    }

    /// The address the socket is connected to, or `nil` while it is not connected.
    public static func peerAddress(_ fd: Int32) -> IPAddress? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        return withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                guard getpeername(fd, address, &length) == 0 else { return nil }
                return IPAddress.from(sockaddr: address)
            }
        }
    }

}

/// Well-known `errno` values a probe classifies.
public enum Errno {
    public static let connectionRefused = ECONNREFUSED
    public static let networkUnreachable = ENETUNREACH
    public static let hostUnreachable = EHOSTUNREACH
    public static let timedOut = ETIMEDOUT
}
