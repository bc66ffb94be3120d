import Foundation
import LinuxIO

/// How a ``ProbeEngine`` runs probes. The defaults suit a development machine and thousands of
/// probes in flight.
public struct EngineConfiguration: Sendable {
    /// Probes allowed in flight at once; more wait for a slot.
    public var maxInFlight: Int
    /// The deadline of a probe that names none.
    public var defaultTimeout: Duration
    /// The longest deadline a request may ask for.
    public var maxTimeout: Duration
    /// Reactor threads driving probes; one per core spreads the drivers' CPU work.
    public var reactorThreads: Int
    /// Threads for blocking work (name lookups).
    public var blockingThreads: Int
    /// Which resolved addresses probes may reach.
    public var egress: EgressPolicy
    /// Name lookups in flight at once per organization and per user (see ``ProbeRequest/tenant``).
    public var lookupLimits: LookupLimits
    /// An expiry a probe finds (a password, a certificate) becomes a warning this long before it.
    public var warnWithin: Duration
    /// Looks a name up within a number of milliseconds; the system resolver unless a test
    /// replaces it.
    public var lookup: @Sendable (_ host: String, _ withinMilliseconds: Int) -> Resolution

    public init(
        maxInFlight: Int = 4096,
        defaultTimeout: Duration = .seconds(10),
        maxTimeout: Duration = .seconds(60),
        reactorThreads: Int = ProcessInfo.processInfo.activeProcessorCount,
        blockingThreads: Int = 16,
        egress: EgressPolicy = .development,
        lookupLimits: LookupLimits = LookupLimits(),
        warnWithin: Duration = .seconds(21 * 86_400),
        lookup: @escaping @Sendable (_ host: String, _ withinMilliseconds: Int) -> Resolution = { NameResolver.resolve($0, within: $1) }
    ) {
        self.maxInFlight = max(1, maxInFlight)
        self.defaultTimeout = defaultTimeout
        self.maxTimeout = maxTimeout
        self.reactorThreads = max(1, reactorThreads)
        self.blockingThreads = max(1, blockingThreads)
        self.egress = egress
        self.lookupLimits = lookupLimits
        self.warnWithin = warnWithin
        self.lookup = lookup
    }
}

extension Duration {
    /// The duration in nanoseconds, clamped at zero.
    var nanoseconds: UInt64 {
        let (seconds, attoseconds) = components
        guard seconds >= 0 else { return 0 }
        return UInt64(seconds) * 1_000_000_000 + UInt64(attoseconds / 1_000_000_000)
    }
}
