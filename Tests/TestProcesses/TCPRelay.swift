import Foundation
import Glibc
import Synchronization

/// A loopback TCP relay to a target port that a test can cut and restore, to play a server that
/// goes away and comes back: ``cut()`` closes the listener and every relayed connection (new
/// connections are refused), ``restore()`` listens on the same port again.
public final class TCPRelay: Sendable {
    public let port: Int
    private let target: Int
    private struct State {
        var listener: Int32 = -1
        var open: Set<Int32> = []
    }
    private let state = Mutex(State())

    public init(to target: Int) throws {
        self.target = target
        let listener = try Self.listen(port: 0)
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) } }
        port = Int(UInt16(bigEndian: address.sin_port))
        state.withLock { $0.listener = listener }
        accept(on: listener)
    }

    deinit { cut() }

    /// Refuses new connections and ends the relayed ones.
    public func cut() {
        // Under the lock: a pump removes its sockets from `open` (also under it) before it
        // closes them, so no number shut down here belongs to anything else.
        let listener = state.withLock { state in
            for fd in state.open { shutdown(fd, Int32(SHUT_RDWR)) }
            defer { state.listener = -1 }
            return state.listener
        }
        if listener >= 0 {
            shutdown(listener, Int32(SHUT_RDWR))
            close(listener)
        }
    }

    /// Listens on the same port again.
    public func restore() throws {
        let listener = try Self.listen(port: port)
        state.withLock { $0.listener = listener }
        accept(on: listener)
    }

    private static func listen(port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemCallError(call: "socket", code: errno) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = Self.loopback(port: port)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, Glibc.listen(fd, 64) == 0 else {
            let code = errno
            close(fd)
            throw SystemCallError(call: "bind", code: code)
        }
        return fd
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    /// Accepts until the listener is cut; each client gets a connection to the target.
    private func accept(on listener: Int32) {
        Thread.detachNewThread { [self] in
            while true {
                let client = Glibc.accept(listener, nil, nil)
                guard client >= 0 else { return }
                let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
                var address = Self.loopback(port: target)
                let connected = withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                }
                let kept = state.withLock { state -> Bool in
                    guard connected == 0, state.listener == listener else { return false }
                    state.open.formUnion([client, upstream])
                    return true
                }
                guard kept else {
                    close(client)
                    close(upstream)
                    continue
                }
                let ends = Ends()
                pump(from: client, to: upstream, ends: ends)
                pump(from: upstream, to: client, ends: ends)
            }
        }
    }

    /// The two pumps of one relayed connection: the second to stop closes its sockets.
    private final class Ends: Sendable {
        let running = Mutex(2)
    }

    /// Copies bytes one way until either side ends, then ends both.
    private func pump(from source: Int32, to sink: Int32, ends: Ends) {
        Thread.detachNewThread { [self] in
            var buffer = [UInt8](repeating: 0, count: 16 * 1024)
            while true {
                let count = read(source, &buffer, 16 * 1024)
                guard count > 0, write(sink, buffer, count) == count else { break }
            }
            shutdown(source, Int32(SHUT_RDWR))
            shutdown(sink, Int32(SHUT_RDWR))
            let last = ends.running.withLock { running -> Bool in
                running -= 1
                return running == 0
            }
            if last {
                state.withLock { state in
                    state.open.remove(source)
                    state.open.remove(sink)
                }
                close(source)
                close(sink)
            }
        }
    }
}
