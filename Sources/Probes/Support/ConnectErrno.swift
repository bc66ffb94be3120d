import ConnectorCore
import LinuxIO
import ProbeEngine

/// Classifies a failed TCP connect by its `errno`.
enum ConnectErrno {
    /// Whether `number` is an errno a failed `connect(2)` leaves.
    static func isConnectFailure(_ number: Int32) -> Bool {
        [Errno.connectionRefused, Errno.networkUnreachable, Errno.hostUnreachable, Errno.timedOut].contains(number)
    }

    static func outcome(_ number: Int32, hostAttr: String, portAttr: String) -> ProbeOutcome {
        let signal = "errno \(number)"
        switch number {
        case Errno.connectionRefused:
            return ProbeOutcome(.connectionRefused, attr: portAttr, signal: signal, stage: .connect)
        case Errno.networkUnreachable, Errno.hostUnreachable:
            return ProbeOutcome(.networkUnreachable, attr: hostAttr, signal: signal, stage: .connect)
        case Errno.timedOut:
            return ProbeOutcome(.timeout, attr: hostAttr, signal: signal, stage: .connect)
        default:
            return ProbeOutcome(
                .networkUnreachable, attr: hostAttr, detail: "The connection could not be made.", signal: signal,
                stage: .connect)
        }
    }
}
