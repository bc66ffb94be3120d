import ConnectorCore
import Foundation
import CurlDriver
import LinuxIO
import ProbeEngine

/// The one HTTP transfer a probe has in flight: started, resumed on readiness, closed. Probes
/// that make several requests in a row (token, then service call) keep one of these.
final class HTTPExchange {
    /// What the transfer needs next.
    enum Step {
        /// Wait for readiness (hand this to the reactor as is).
        case wait(ProbeStep)
        /// The answer, or libcurl's transport failure.
        case done(HTTPResult)
        /// The transfer could not even be set up.
        case failed(ProbeOutcome)
    }

    private var transfer: HTTPTransfer?
    private var fd: Int32 = -1
    /// Where the server certificates' expiry goes (set when the probe starts).
    private weak var context: ProbeContext?

    /// Reports the expiry of every TLS server certificate the transfers meet to `context`.
    func reportExpiries(to context: ProbeContext) {
        self.context = context
    }

    /// The descriptor being waited on, while a transfer is in flight.
    var descriptor: Int32? { transfer == nil ? nil : fd }

    func start(_ spec: HTTPRequestSpec) -> Step {
        close()
        do {
            let next = try HTTPTransfer(spec)
            transfer = next
            return handle(next.start())
        } catch {
            return .failed(ProbeOutcome(.protocolError, detail: error.description))
        }
    }

    func resume(events: IOEvents) -> Step {
        guard let transfer else { return .failed(ProbeOutcome(.protocolError, detail: "No transfer in progress.")) }
        return handle(transfer.resume(fd: fd, events: events))
    }

    /// Whether TLS finished on the current transfer.
    var tlsDone: Bool { transfer?.progress.tlsDone ?? false }

    func close() {
        transfer?.close()
        transfer = nil
        fd = -1
    }

    private func handle(_ step: TransferStep) -> Step {
        switch step {
        case .wait(let fd, let events):
            self.fd = fd
            return .wait(.wait(fd: fd, events: events))
        case .finished(let result):
            close()
            if let notAfter = result.peerCertificateNotAfter {
                context?.recordExpiry(.certificateExpires, at: Date(timeIntervalSince1970: Double(notAfter)), attr: nil)
            }
            return .done(result)
        }
    }
}
