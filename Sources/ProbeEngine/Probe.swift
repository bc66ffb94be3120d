import ConnectorCore
import Foundation
import LinuxIO

/// What a probe asks its reactor for next.
public enum ProbeStep {
    /// Call ``Probe/resume(_:events:)`` once `fd` reports any of `events`.
    case wait(fd: Int32, events: IOEvents)
    /// The probe has its verdict; the reactor reports it and calls ``Probe/close()``.
    case finished(ProbeOutcome)
}

/// A probe's verdict before the engine adds timings.
public struct ProbeOutcome: Sendable, Equatable {
    public var code: OutcomeCode
    public var attr: String?
    public var detail: String?
    public var hint: String?
    /// The driver's structured signal, e.g. `SQLSTATE 28P01`.
    public var signal: String?
    /// The failing stage when it differs from the stage the probe was in.
    public var stage: ProbeStage?

    public init(
        _ code: OutcomeCode, attr: String? = nil, detail: String? = nil, hint: String? = nil, signal: String? = nil,
        stage: ProbeStage? = nil
    ) {
        self.code = code
        self.attr = attr
        self.detail = detail
        self.hint = hint
        self.signal = signal
        self.stage = stage
    }

    public static let ok = ProbeOutcome(.ok)
}

/// One credential test as a non-blocking state machine over a driver.
///
/// All three methods run on the reactor thread that owns the probe; none may block on the network.
public protocol Probe: AnyObject {
    /// Begins the attempt against `context.address`.
    func start(_ context: ProbeContext) -> ProbeStep
    /// Continues after the awaited readiness.
    func resume(_ context: ProbeContext, events: IOEvents) -> ProbeStep
    /// Releases everything the probe opened. Called exactly once, after it finished or after its
    /// deadline passed (possibly mid-way).
    func close()
}

/// How to test one connector: the host to resolve and how to build the probe for an address.
public struct ProbePlan: Sendable {
    /// The host name or address to resolve.
    public var host: String
    /// The metadata field that named the host (for `host_not_found`, `egress_denied`).
    public var hostAttr: String
    /// More hosts the probe will reach (a token endpoint and an API, say), each resolved and
    /// checked by the egress policy before the probe starts, with the field that named it.
    public var otherHosts: [(host: String, attr: String)]
    /// What speaks to the service (`libpq`, `native`, `libmariadb`, `libcurl`): the report's
    /// `probe.driver`.
    public var driver: String
    /// Builds the probe for the resolved address.
    public var makeProbe: @Sendable (IPAddress) -> any Probe

    public init(
        host: String, hostAttr: String, otherHosts: [(host: String, attr: String)] = [], driver: String,
        makeProbe: @escaping @Sendable (IPAddress) -> any Probe
    ) {
        self.host = host
        self.hostAttr = hostAttr
        self.otherHosts = otherHosts
        self.driver = driver
        self.makeProbe = makeProbe
    }
}

/// Turns a connector family's metadata into a ``ProbePlan``.
public protocol ProbeDriver: Sendable {
    /// - Parameter tenant: whose credentials these are; a driver that shares state between probes
    ///   (a token cache) keys it by tenant too.
    /// - Throws: ``MetadataError`` when the metadata cannot be used.
    func plan(for type: ConnectorType, metadata: JSONValue, tenant: String) throws(MetadataError) -> ProbePlan
}

/// What a running probe may know and do beyond its driver.
public final class ProbeContext: @unchecked Sendable {
    /// The resolved address, already allowed by the egress policy.
    public let address: IPAddress
    /// Every resolved address the policy allows; a driver that resolves the name itself must end
    /// up at one of these.
    public let approved: [IPAddress]
    /// The engine's egress policy, for drivers that must check the address they ended up at.
    public let egress: EgressPolicy
    /// The approved address of each of the plan's ``ProbePlan/otherHosts`` (lower-cased names).
    public let otherAddresses: [String: IPAddress]
    let ticket: ProbeTicket

    init(address: IPAddress, approved: [IPAddress], egress: EgressPolicy, otherAddresses: [String: IPAddress] = [:], ticket: ProbeTicket) {
        self.address = address
        self.approved = approved
        self.egress = egress
        self.otherAddresses = otherAddresses
        self.ticket = ticket
    }

    /// The approved address for `host`: the plan's main host or one of its other hosts.
    public func address(for host: String) -> IPAddress? {
        otherAddresses[host.lowercased()]
    }

    /// Records that the probe moved on to `stage` (stages only move forward).
    public func enter(_ stage: ProbeStage) {
        ticket.enter(stage)
    }

    /// Hands OAuth tokens the probe obtained by a refresh to the report, so the caller can store them.
    public func recordRefreshedTokens(_ tokens: OAuthTokenSet) {
        ticket.recordRefreshedTokens(tokens)
    }

    /// Records when something the credentials depend on expires (the role's password, the
    /// server's certificate; nil: it already has); the engine turns it into a warning when it
    /// falls within its window.
    public func recordExpiry(_ code: ProbeWarning.Code, at date: Date?, attr: String?) {
        ticket.recordWarning(ProbeWarning(code: code, expiresAt: date, attr: attr))
    }

    /// The stage the probe is in.
    public var stage: ProbeStage {
        ticket.currentStage
    }
}
