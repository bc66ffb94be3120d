import ConnectorCore
import LinuxIO
import Logging
import Synchronization

/// One credential test to run.
public struct ProbeRequest: Sendable {
    public var connectorID: String
    public var metadata: JSONValue
    /// The deadline over all stages; `nil` for the engine's default. Clamped to the maximum.
    public var timeout: Duration?
    /// Whose credentials these are (the organization, for API tests): state a probe shares
    /// between tests, such as cached access tokens, is never shared across tenants, and name
    /// lookups are shared fairly between tenants.
    public var tenant: String
    /// Who asked (a user id, for API tests): lookups are also capped per requester.
    public var requester: String

    public init(connectorID: String, metadata: JSONValue, timeout: Duration? = nil, tenant: String = "", requester: String = "") {
        self.connectorID = connectorID
        self.metadata = metadata
        self.timeout = timeout
        self.tenant = tenant
        self.requester = requester
    }
}

/// Runs credential probes: validates, resolves off the reactors, applies the egress policy, drives
/// each probe on a reactor thread under one deadline, and reports verdicts with stage timings.
public final class ProbeEngine: Sendable {
    public let configuration: EngineConfiguration
    public let catalog: Catalog
    private let drivers: [ConnectorFamily: any ProbeDriver]
    private let reactors: [Reactor]
    private let blocking: BlockingPool
    private let limiter: InFlightLimiter
    private let keeper: Mutex<DeadlineKeeper?>
    private let counter = Atomic<UInt64>(0)
    private let stopped = Atomic<Bool>(false)
    private let observers = Mutex<[@Sendable (ConnectorType?, ProbeReport) -> Void]>([])

    /// False once ``shutdown()`` began.
    public var isRunning: Bool { !stopped.load(ordering: .acquiring) }
    private let logger = Logger(label: "connector-engine.probe")

    /// Starts the engine's threads.
    /// - Parameters:
    ///   - drivers: the probe driver of each connector family this engine can test.
    /// - Throws: ``SystemError`` if epoll or eventfd cannot be created.
    public init(
        configuration: EngineConfiguration = EngineConfiguration(), catalog: Catalog = .builtin,
        drivers: [ConnectorFamily: any ProbeDriver]
    ) throws(SystemError) {
        ProcessClock.raiseOpenFileLimit()
        self.configuration = configuration
        self.catalog = catalog
        self.drivers = drivers
        var reactors: [Reactor] = []
        for index in 0..<configuration.reactorThreads {
            reactors.append(try Reactor(name: "probe-reactor-\(index)"))
        }
        self.reactors = reactors
        self.blocking = BlockingPool(threads: configuration.blockingThreads, name: "probe-blocking", limits: configuration.lookupLimits)
        self.limiter = InFlightLimiter(limit: configuration.maxInFlight)
        self.keeper = Mutex(nil)
        let keeper = try DeadlineKeeper { ticket in
            let (delivered, reactor) = ticket.expire()
            if delivered, let reactor { reactor.submit(.expire(ticket.id)) }
        }
        self.keeper.withLock { $0 = keeper }
    }

    /// Stops the engine: later tests are refused, tests in flight end with `server_error`, and
    /// every probe is closed (by its reactor, or by whoever hands it over after the stop).
    public func shutdown() {
        guard !stopped.exchange(true, ordering: .acquiring) else { return }
        reactors.forEach { $0.submit(.stop) }
        blocking.stop()
        let remaining = keeper.withLock { $0?.stop() } ?? []
        for ticket in remaining { ticket.complete(Reactor.shutDownOutcome) }
    }

    /// Probes holding a slot: running, or finished but not yet closed.
    public var probesInFlight: Int {
        limiter.inFlight
    }

    /// Returns once no probe holds a slot: every probe finished and closed what it opened.
    public func waitUntilIdle() async {
        await limiter.waitUntilIdle()
    }

    /// Calls `observer` with every verdict of ``test(_:)`` and the catalog type it was for (nil:
    /// not in the catalog); metrics count them this way.
    public func observeReports(_ observer: @escaping @Sendable (ConnectorType?, ProbeReport) -> Void) {
        observers.withLock { $0.append(observer) }
    }

    /// Tests one set of credentials.
    /// - Returns: the verdict; never throws, every failure is a verdict.
    public func test(_ request: ProbeRequest) async -> ProbeReport {
        let type = catalog.type(id: request.connectorID)
        let report = await test(request, type: type)
        for observer in observers.withLock({ $0 }) { observer(type, report) }
        return report
    }

    private func test(_ request: ProbeRequest, type: ConnectorType?) async -> ProbeReport {
        guard let type else {
            return .unknownConnector(request.connectorID)
        }
        let plan: ProbePlan
        do {
            let metadata = try type.normalizingSecrets(request.metadata, allowingMask: true)
            try type.validate(metadata)
            guard let driver = drivers[type.family] else {
                return ProbeReport(
                    code: .serverError, stage: .validate,
                    detail: "This build of the engine cannot test \(type.name) connectors yet.",
                    hint: "This engine was started without a probe for this connector family.")
            }
            plan = try driver.plan(for: type, metadata: metadata, tenant: request.tenant)
        } catch {
            return .invalid(error)
        }
        return await run(plan, timeout: request.timeout, tenant: request.tenant, requester: request.requester)
    }

    /// Runs a planned exchange as a probe: name lookup off the reactors, the egress policy, one
    /// deadline (`nil`: the default, clamped to the maximum), a slot among those in flight. Other
    /// modules use it for requests that are not credential tests but must obey the same rules
    /// (an OAuth code exchange).
    public func run(_ plan: ProbePlan, timeout: Duration?, tenant: String, requester: String) async -> ProbeReport {
        guard !stopped.load(ordering: .acquiring) else {
            return ProbeReport(code: .serverError, stage: .validate, detail: "The engine is shut down.", signal: ProbeReport.shutDownSignal)
        }
        await limiter.acquire()
        let timeout = min(timeout ?? configuration.defaultTimeout, configuration.maxTimeout)
        let id = counter.add(1, ordering: .relaxed).newValue
        // Cancelling the calling task ends the probe as its deadline would: at once, with
        // everything it opened closed by its reactor.
        let slot = TicketSlot()
        var report = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let ticket = ProbeTicket(
                    id: id, timeout: timeout.nanoseconds, warnWithin: configuration.warnWithin, continuation: continuation)
                slot.ticket.withLock { $0 = ticket }
                keeper.withLock { $0?.watch(ticket) }
                launch(plan, ticket: ticket, tenant: tenant, requester: requester)
                if Task.isCancelled { cancel(ticket) }
            }
        } onCancel: {
            if let ticket = slot.ticket.withLock({ $0 }) { cancel(ticket) }
        }
        report.driver = plan.driver
        return report
    }

    /// Where a cancellation handler finds the ticket of its probe once it exists.
    private final class TicketSlot: Sendable {
        let ticket = Mutex<ProbeTicket?>(nil)
    }

    /// Ends a probe whose caller went away; its reactor (if it reached one) closes it.
    private func cancel(_ ticket: ProbeTicket) {
        let (delivered, reactor) = ticket.cancel()
        if delivered, let reactor { reactor.submit(.expire(ticket.id)) }
    }

    /// Tests many sets of credentials, at most `concurrency` at once, yielding each verdict (with
    /// the index of its request) as soon as it is known.
    public func testAll(_ requests: [ProbeRequest], concurrency: Int) -> AsyncStream<(Int, ProbeReport)> {
        boundedConcurrently(requests.count, limit: concurrency) { await self.test(requests[$0]) }
    }

    // MARK: - Stages before the reactor

    private func launch(_ plan: ProbePlan, ticket: ProbeTicket, tenant: String, requester: String) {
        let hosts = [plan.host] + plan.otherHosts.map(\.host)
        let immediate = hosts.map(Self.resolveWithoutLookup)
        if immediate.allSatisfy({ $0 != nil }) {
            return proceed(plan, ticket: ticket, resolutions: immediate.map { $0! })
        }
        blocking.submit(organization: tenant, user: requester) { [self] in
            guard !ticket.isFinished else { return retire(ticket) }
            // A lookup never outlives the probe's deadline on this thread.
            let resolutions = zip(hosts, immediate).map { host, known in
                known ?? configuration.lookup(host, ticket.remainingMilliseconds)
            }
            proceed(plan, ticket: ticket, resolutions: resolutions)
        }
    }

    /// The approved addresses of one resolution, or the outcome that ends the probe.
    private func approve(_ resolution: Resolution, attr: String) -> Result<[IPAddress], OutcomeFailure> {
        switch resolution {
        case .notFound:
            return .failure(OutcomeFailure(ProbeOutcome(.hostNotFound, attr: attr, signal: "NXDOMAIN")))
        case .failure(let code):
            return .failure(OutcomeFailure(ProbeOutcome(.dnsFailure, attr: attr, signal: "getaddrinfo \(code)")))
        case .addresses(let addresses):
            let approved = addresses.filter { configuration.egress.refusal(for: $0) == nil }
            guard approved.isEmpty else { return .success(approved) }
            let reason = addresses.first.flatMap { configuration.egress.refusal(for: $0) } ?? "no address"
            return .failure(
                OutcomeFailure(
                    ProbeOutcome(
                        .egressDenied, attr: attr,
                        detail: "The host resolves only to addresses this engine may not reach (\(reason)).",
                        signal: "egress policy: \(reason)")))
        }
    }

    /// Answers names that need no lookup: numeric addresses, `localhost` and the reserved
    /// `.invalid` domain (RFC 6761), which never exists and must not be sent to a resolver.
    static func resolveWithoutLookup(_ host: String) -> Resolution? {
        let name = host.lowercased().hasSuffix(".") ? String(host.lowercased().dropLast()) : host.lowercased()
        if let address = IPAddress(numeric: name) { return .addresses([address]) }
        if name == "localhost" { return .addresses([IPAddress(numeric: "127.0.0.1")!]) }
        if name == "invalid" || name.hasSuffix(".invalid") { return .notFound }
        return nil
    }

    private func proceed(_ plan: ProbePlan, ticket: ProbeTicket, resolutions: [Resolution]) {
        guard !ticket.isFinished else { return retire(ticket) }
        let attrs = [plan.hostAttr] + plan.otherHosts.map(\.attr)
        var approvedLists: [[IPAddress]] = []
        for (resolution, attr) in zip(resolutions, attrs) {
            switch approve(resolution, attr: attr) {
            case .success(let approved): approvedLists.append(approved)
            case .failure(let failure):
                ticket.complete(failure.outcome)
                return retire(ticket)
            }
        }
        let approved = approvedLists[0]
        let address = approved[0]
        var others: [String: IPAddress] = [plan.host.lowercased(): address]
        for (other, list) in zip(plan.otherHosts, approvedLists.dropFirst()) { others[other.host.lowercased()] = list[0] }
        ticket.enter(.connect)
        let context = ProbeContext(
            address: address, approved: approved, egress: configuration.egress, otherAddresses: others, ticket: ticket)
        let probe = plan.makeProbe(address)
        let reactor = reactors[Int(ticket.id % UInt64(reactors.count))]
        guard ticket.assign(to: reactor) else {
            probe.close()
            return retire(ticket)
        }
        let entry = Reactor.Entry(probe: probe, context: context) { [self] in retire(ticket) }
        reactor.submit(.start(entry))
    }

    /// Frees the probe's slot once nothing of it is left open.
    private func retire(_ ticket: ProbeTicket) {
        keeper.withLock { $0?.forget(ticket.id) }
        limiter.release()
    }
}

/// A verdict reached before the probe starts, carried through a `Result`.
struct OutcomeFailure: Error {
    let outcome: ProbeOutcome
    init(_ outcome: ProbeOutcome) { self.outcome = outcome }
}
