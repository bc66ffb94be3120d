import CLinuxIO
import Glibc

/// Readiness events, as epoll reports them.
public struct IOEvents: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let readable = IOEvents(rawValue: 0x001)
    public static let writable = IOEvents(rawValue: 0x004)
    public static let error = IOEvents(rawValue: 0x008)
    public static let hangup = IOEvents(rawValue: 0x010)
    static let oneShot = IOEvents(rawValue: 1 << 30)
}

/// A Linux error number from a failed system call.
public struct SystemError: Error, Sendable, CustomStringConvertible {
    public let call: String
    public let errno: Int32
    public var description: String { "\(call) failed with errno \(errno)" }
}

/// One epoll instance. Owned by the single thread that waits on it; `register` may be called
/// from that thread only.
public final class Epoll: @unchecked Sendable {
    public let descriptor: Int32
    private var buffer: [epoll_event]

    public init(capacity: Int = 256) throws(SystemError) {
        let fd = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard fd >= 0 else { throw SystemError(call: "epoll_create1", errno: errno) }
        descriptor = fd
        buffer = [epoll_event](repeating: epoll_event(), count: capacity)
    }

    deinit {
        close(descriptor)
    }

    /// Arms `fd` for one report of `events`, tagged with `token`. Re-arms an fd already known,
    /// and adds it when it is new (or was closed and reopened under the same number).
    public func arm(_ fd: Int32, for events: IOEvents, token: UInt64) throws(SystemError) {
        var event = epoll_event()
        event.events = events.union(.oneShot).rawValue
        event.data.u64 = token
        if epoll_ctl(descriptor, EPOLL_CTL_MOD, fd, &event) == 0 { return }
        guard errno == ENOENT else { throw SystemError(call: "epoll_ctl(MOD)", errno: errno) }
        if epoll_ctl(descriptor, EPOLL_CTL_ADD, fd, &event) != 0 {
            throw SystemError(call: "epoll_ctl(ADD)", errno: errno)
        }
    }

    /// Watches `fd` for every readiness report of `events` (level-triggered), tagged with `token`.
    public func watch(_ fd: Int32, for events: IOEvents, token: UInt64) throws(SystemError) {
        var event = epoll_event()
        event.events = events.rawValue
        event.data.u64 = token
        if epoll_ctl(descriptor, EPOLL_CTL_ADD, fd, &event) != 0 {
            throw SystemError(call: "epoll_ctl(ADD)", errno: errno)
        }
    }

    /// Stops watching `fd`; a no-op when it is not watched (or already closed).
    public func forget(_ fd: Int32) {
        var event = epoll_event()
        _ = epoll_ctl(descriptor, EPOLL_CTL_DEL, fd, &event)
    }

    /// Waits for readiness, at most `timeoutMilliseconds` (-1: no limit), retrying `EINTR`.
    /// - Returns: the token and events of each ready descriptor.
    public func wait(timeoutMilliseconds: Int32) -> [(token: UInt64, events: IOEvents)] {
        let count = buffer.withUnsafeMutableBufferPointer { events -> Int32 in
            var result: Int32
            repeat {
                result = epoll_wait(descriptor, events.baseAddress, Int32(events.count), timeoutMilliseconds)
            } while result < 0 && errno == EINTR
            return result
        }
        guard count > 0 else { return [] }
        return (0..<Int(count)).map { (buffer[$0].data.u64, IOEvents(rawValue: buffer[$0].events)) }
    }
}

/// An eventfd used to wake a thread that waits in ``Epoll``; safe to signal from any thread.
public final class WakeupSignal: Sendable {
    public let descriptor: Int32

    public init() throws(SystemError) {
        let fd = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        guard fd >= 0 else { throw SystemError(call: "eventfd", errno: errno) }
        descriptor = fd
    }

    deinit {
        close(descriptor)
    }

    /// Wakes the waiting thread.
    public func signal() {
        var one: UInt64 = 1
        _ = write(descriptor, &one, 8)
    }

    /// Clears pending wake-ups; call on the waiting thread after it woke.
    public func drain() {
        var value: UInt64 = 0
        _ = read(descriptor, &value, 8)
    }
}
