import ConnectorCore
import CurlDriver
import LinuxIO
import ProbeEngine
import Synchronization

/// The answer to a form POST sent through the engine, or the verdict that stopped it.
public enum FormPostResult: Sendable {
    case answered(status: Int, body: [UInt8])
    /// No HTTP answer: the lookup, the egress policy, the connection or the deadline failed.
    case failed(ProbeReport)
}

extension ProbeEngine {
    /// POSTs an `application/x-www-form-urlencoded` body on a reactor, as a probe: the host is
    /// looked up off the reactors and checked against the egress policy, and the request runs
    /// under the engine's deadline. Used for OAuth code exchanges, which must obey the same rules
    /// as a credential test.
    /// - Parameter caFile: a PEM bundle to verify the server with (test or self-hosted endpoints).
    public func postForm(
        url: String, form: [(String, String)], caFile: String? = nil, tenant: String, requester: String
    ) async -> FormPostResult {
        guard let host = HTTPTransfer.hostAndPort(url)?.host else {
            return .failed(ProbeReport(code: .protocolError, stage: .validate, detail: "The configured endpoint is not a URL."))
        }
        let answer = Mutex<HTTPResult?>(nil)
        let spec = (url: url, body: Array(PercentEncoding.form(form).utf8), caFile: caFile)
        let plan = ProbePlan(host: host, hostAttr: "url") { address in
            FormPostProbe(
                spec: HTTPRequestSpec(
                    method: "POST", url: spec.url,
                    headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")],
                    body: spec.body, address: address, caFile: spec.caFile)
            ) { result in answer.withLock { $0 = result } }
        }
        let report = await run(plan, timeout: nil, tenant: tenant, requester: requester)
        guard report.isValid, let result = answer.withLock({ $0 }) else { return .failed(report) }
        return .answered(status: result.status, body: result.body)
    }
}

/// One POST: any HTTP answer passes (the caller reads it); a transport failure is the verdict.
final class FormPostProbe: Probe {
    private let spec: HTTPRequestSpec
    private let deliver: @Sendable (HTTPResult) -> Void
    private let exchange = HTTPExchange()

    init(spec: HTTPRequestSpec, deliver: @escaping @Sendable (HTTPResult) -> Void) {
        self.spec = spec
        self.deliver = deliver
    }

    func start(_ context: ProbeContext) -> ProbeStep {
        exchange.reportExpiries(to: context)
        return advance(exchange.start(spec))
    }

    func resume(_ context: ProbeContext, events: IOEvents) -> ProbeStep {
        if let fd = exchange.descriptor, SocketState.peerAddress(fd) != nil { context.enter(.request) }
        return advance(exchange.resume(events: events))
    }

    func close() { exchange.close() }

    private func advance(_ step: HTTPExchange.Step) -> ProbeStep {
        switch step {
        case .wait(let wait): return wait
        case .failed(let outcome): return .finished(outcome)
        case .done(let result):
            guard result.succeeded else { return .finished(HTTPFailure.transport(result, attr: "url")) }
            deliver(result)
            return .finished(.ok)
        }
    }
}
