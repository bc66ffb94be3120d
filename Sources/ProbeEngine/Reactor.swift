import ConnectorCore
import Foundation
import LinuxIO
import Synchronization

/// One thread waiting on epoll and driving the probes it owns. Other threads talk to it only
/// through ``submit(_:)``; everything else runs on the reactor thread.
final class Reactor: @unchecked Sendable {
    /// A probe in the reactor's care. Touched only on the reactor thread.
    final class Entry: @unchecked Sendable {
        let probe: any Probe
        let context: ProbeContext
        let retire: @Sendable () -> Void
        var fd: Int32 = -1

        init(probe: any Probe, context: ProbeContext, retire: @escaping @Sendable () -> Void) {
            self.probe = probe
            self.context = context
            self.retire = retire
        }

        var id: UInt64 { context.ticket.id }
    }

    enum Command: @unchecked Sendable {
        /// Start the probe on this thread.
        case start(Entry)
        /// The deadline of this probe passed: close it.
        case expire(UInt64)
        case stop
    }

    private struct Inbox {
        var commands: [Command] = []
        /// Set once the reactor stopped; later commands are handled by the caller.
        var stopped = false
    }

    private let epoll: Epoll
    private let wakeup: WakeupSignal
    private let inbox = Mutex(Inbox())
    private var active: [UInt64: Entry] = [:]
    private static let wakeupToken = UInt64.max

    init(name: String) throws(SystemError) {
        epoll = try Epoll(capacity: 512)
        wakeup = try WakeupSignal()
        try epoll.watch(wakeup.descriptor, for: .readable, token: Self.wakeupToken)
        let thread = Thread { [self] in self.run() }
        thread.name = name
        thread.start()
    }

    /// Queues a command for the reactor thread and wakes it. Once the reactor has stopped, the
    /// command is settled on the caller's thread instead: the probe is reported as cut short and
    /// closed, so nothing waits forever and nothing stays open.
    func submit(_ command: Command) {
        let queued = inbox.withLock { inbox -> Bool in
            guard !inbox.stopped else { return false }
            inbox.commands.append(command)
            return true
        }
        if queued {
            wakeup.signal()
        } else {
            Self.settleAfterStop(command)
        }
    }

    private static func settleAfterStop(_ command: Command) {
        switch command {
        case .start(let entry):
            entry.context.ticket.complete(Self.shutDownOutcome)
            entry.probe.close()
            entry.retire()
        case .expire, .stop:
            break
        }
    }

    static let shutDownOutcome = ProbeOutcome(
        .serverError, detail: "The engine shut down before the test finished.", signal: ProbeReport.shutDownSignal)

    private func run() {
        while true {
            for (token, events) in epoll.wait(timeoutMilliseconds: -1) {
                if token == Self.wakeupToken {
                    wakeup.drain()
                    if !runCommands() { return }
                } else if let entry = active[token] {
                    apply(entry.probe.resume(entry.context, events: events), to: entry)
                }
            }
        }
    }

    /// Runs queued commands; false when asked to stop.
    private func runCommands() -> Bool {
        let commands = inbox.withLock { inbox -> [Command] in
            defer { inbox.commands.removeAll(keepingCapacity: true) }
            return inbox.commands
        }
        for (index, command) in commands.enumerated() {
            switch command {
            case .start(let entry):
                guard !entry.context.ticket.isFinished else {
                    entry.probe.close()
                    entry.retire()
                    continue
                }
                active[entry.id] = entry
                apply(entry.probe.start(entry.context), to: entry)
            case .expire(let id):
                if let entry = active[id] { retire(entry) }
            case .stop:
                let late = inbox.withLock { inbox -> [Command] in
                    inbox.stopped = true
                    defer { inbox.commands.removeAll() }
                    return inbox.commands
                }
                for command in commands[(index + 1)...] + late { Self.settleAfterStop(command) }
                for entry in active.values {
                    entry.context.ticket.complete(Self.shutDownOutcome)
                    retire(entry)
                }
                return false
            }
        }
        return true
    }

    private func apply(_ step: ProbeStep, to entry: Entry) {
        switch step {
        case .wait(let fd, let events):
            if entry.fd >= 0 && entry.fd != fd { epoll.forget(entry.fd) }
            do {
                try epoll.arm(fd, for: events, token: entry.id)
                entry.fd = fd
            } catch {
                entry.context.ticket.complete(
                    ProbeOutcome(.serverError, detail: "The engine could not watch the probe's socket.", signal: "\(error)"))
                retire(entry)
            }
        case .finished(let outcome):
            entry.context.ticket.complete(outcome)
            retire(entry)
        }
    }

    /// Stops watching the probe, closes it and frees its slot.
    private func retire(_ entry: Entry) {
        if entry.fd >= 0 {
            epoll.forget(entry.fd)
            entry.fd = -1
        }
        active[entry.id] = nil
        entry.probe.close()
        entry.retire()
    }
}
