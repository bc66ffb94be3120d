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
        let plan = ProbePlan(host: host, hostAttr: "url", driver: "libcurl") { _ in
            HTTPProbe(
                machine: FormPostMachine(
                    call: HTTPCall(
                        method: "POST", url: spec.url,
                        headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")],
                        body: spec.body, caFile: spec.caFile, stage: .request))
            ) { result in answer.withLock { $0 = result } }
        }
        let report = await run(plan, timeout: nil, tenant: tenant, requester: requester)
        guard report.isValid, let result = answer.withLock({ $0 }) else { return .failed(report) }
        return .answered(status: result.status, body: result.body)
    }
}

/// One POST: any HTTP answer passes and is delivered to the caller, who reads it; a transport
/// failure is the verdict.
struct FormPostMachine: HTTPProbeMachine {
    let call: HTTPCall

    func start() -> HTTPStep { .send(call) }

    func received(_ result: HTTPResult) -> HTTPStep {
        guard result.succeeded else { return .finish(HTTPFailure.transport(result, attr: "url")) }
        return .effect(.deliver(result), then: .finish(.ok))
    }
}
