import ConnectorCore
import CurlDriver
import LinuxIO
import ProbeEngine

/// Verdicts of HTTP probes that every service shares: failures before any HTTP answer, read from
/// libcurl's result code and the connect errno.
enum HTTPFailure {
    static func transport(_ result: HTTPResult, attr: String) -> ProbeOutcome {
        let signal = "curl \(result.curlCode)" + (result.osErrno != 0 ? ", errno \(result.osErrno)" : "")
        if result.addressRefused {
            return ProbeOutcome(.egressDenied, attr: attr, signal: signal, stage: .connect)
        }
        switch result.curlCode {
        case 7:  // CURLE_COULDNT_CONNECT
            if result.osErrno == Int(Errno.networkUnreachable) || result.osErrno == Int(Errno.hostUnreachable) {
                return ProbeOutcome(.networkUnreachable, attr: attr, signal: signal, stage: .connect)
            }
            return ProbeOutcome(.connectionRefused, attr: attr, signal: signal, stage: .connect)
        case 23:  // CURLE_WRITE_ERROR: only the header cap stops a transfer that way
            return ProbeOutcome(
                .protocolError, attr: attr, detail: "The server's response headers went past \(HTTPTransfer.maxHeaderBytes / 1024) KiB.",
                signal: signal)
        case 28:  // CURLE_OPERATION_TIMEDOUT
            return ProbeOutcome(.timeout, signal: signal)
        case 35, 51, 53, 54, 58, 59, 60, 64, 66, 77, 80, 82, 83, 90, 91:  // TLS handshake and verification
            return ProbeOutcome(.tlsFailure, attr: attr, signal: signal, stage: .tls)
        default:
            return ProbeOutcome(.protocolError, attr: attr, detail: "The connection failed: \(Curl.describe(result.curlCode)).", signal: signal)
        }
    }
}
