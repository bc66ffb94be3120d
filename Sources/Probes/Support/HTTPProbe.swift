import CloudAuth
import ConnectorCore
import CurlDriver
import Foundation
import LinuxIO
import ProbeEngine

/// One request an HTTP probe's machine asks for. The shell runs it as one libcurl transfer on the
/// reactor, pinned to the address the engine approved for its host (the plan's host or one of its
/// other hosts).
struct HTTPCall: Sendable {
    var method: String
    var url: String
    var headers: [(name: String, value: String)] = []
    var body: [UInt8] = []
    /// A PEM bundle to verify the server with; nil: the system's trust store.
    var caFile: String?
    /// The stage the exchange belongs to (`auth` for a login or token, `request` for the service
    /// call); the probe enters it once the connection (and TLS, for https) is up.
    var stage: ProbeStage
}

/// Something an HTTP probe's decision asks the shell to do besides sending or finishing.
enum HTTPEffect: Sendable {
    /// Hand the token this probe fetched (nil: the fetch failed) to the probes waiting for it.
    case publishToken(String?, expiresIn: Int)
    /// Hand OAuth tokens obtained by a refresh to the report, for the caller to store.
    case refreshedTokens(OAuthTokenSet)
    /// Record when something the credentials depend on expires (a warning within the window).
    case expiry(ProbeWarning.Code, at: Date, attr: String?)
    /// Hand an answer to whoever planned the probe (a form POST's caller reads it).
    case deliver(HTTPResult)
}

/// What an HTTP probe's machine decides next.
indirect enum HTTPStep: Sendable {
    case send(HTTPCall)
    /// Ask the shared token cache: a token, a wait for another probe's fetch (the shell waits and
    /// asks again), or this probe's turn to fetch; the answer goes to `tokenClaimed(_:)`.
    case claimToken
    case finish(ProbeOutcome)
    /// Carry out `effect`, then `then`.
    case effect(HTTPEffect, then: HTTPStep)
}

/// What the shared token cache answered a machine's `claimToken`.
enum TokenClaim: Sendable, Equatable {
    case token(String)
    /// No usable token: this probe fetches one, and must publish what it gets.
    case fetch
}

/// The decisions of an HTTP probe, apart from any I/O: which calls to make, in what order, and
/// what their answers mean. Tested by feeding it answers (`HTTPProbeMachineTests`).
protocol HTTPProbeMachine: Sendable {
    mutating func start() -> HTTPStep
    mutating func received(_ result: HTTPResult) -> HTTPStep
    mutating func tokenClaimed(_ claim: TokenClaim) -> HTTPStep
}

extension HTTPProbeMachine {
    func tokenClaimed(_ claim: TokenClaim) -> HTTPStep {
        .finish(ProbeOutcome(.protocolError, detail: "This probe does not use a shared token."))
    }
}

/// The shell every HTTP probe runs in: it performs its machine's steps. It owns the one transfer
/// in flight, finds each call's approved address, enters the call's stage from the connection's
/// progress (the socket has a peer: connected, then libcurl's TLS time: handshake done), waits
/// on the token cache, and reports each TLS server certificate's expiry.
final class HTTPProbe<Machine: HTTPProbeMachine>: Probe {
    private var machine: Machine
    /// The shared token cache and this probe's key in it, for machines that claim tokens.
    private let sharedToken: (cache: TokenCache, key: TokenCache.Key)?
    /// Held until the probe is gone: libcurl reads it during the handshake.
    private let keepAlive: AnyObject?
    /// Where `deliver` effects go.
    private let deliver: (@Sendable (HTTPResult) -> Void)?
    private var transfer: HTTPTransfer?
    private var fd: Int32 = -1
    private var call: HTTPCall?
    /// How far the transfer in flight has come, so each stage is entered once (no `getpeername`
    /// or libcurl query on every readiness once the call's own stage is reached).
    private var reached = Reached.connecting
    private var waitingForToken: WakeupSignal?
    /// This probe owes the cache a `finish` for the fetch it claimed.
    private var fetching = false

    init(
        machine: Machine, sharedToken: (cache: TokenCache, key: TokenCache.Key)? = nil, keepAlive: AnyObject? = nil,
        deliver: (@Sendable (HTTPResult) -> Void)? = nil
    ) {
        self.machine = machine
        self.sharedToken = sharedToken
        self.keepAlive = keepAlive
        self.deliver = deliver
    }

    func start(_ context: ProbeContext) -> ProbeStep {
        perform(machine.start(), context)
    }

    func resume(_ context: ProbeContext, events: IOEvents) -> ProbeStep {
        if let signal = waitingForToken {
            signal.drain()
            waitingForToken = nil
            return perform(.claimToken, context)
        }
        guard let transfer, let call else { return .finished(ProbeOutcome(.protocolError, detail: "No transfer in progress.")) }
        // Connected once the socket has a peer (libcurl sets its connect time only after TLS).
        if reached == .connecting, SocketState.peerAddress(fd) != nil {
            reached = call.url.lowercased().hasPrefix("https:") ? .handshaking : .calling
            context.enter(reached == .handshaking ? .tls : call.stage)
        }
        let step = transfer.resume(fd: fd, events: events)
        if reached != .calling, transfer.progress.tlsDone {
            reached = .calling
            context.enter(call.stage)
        }
        return handle(step, context)
    }

    func close() {
        closeTransfer()
        // A probe that dies mid-fetch must not leave others waiting for its token.
        publish(nil, expiresIn: 0)
    }

    private func perform(_ step: HTTPStep, _ context: ProbeContext) -> ProbeStep {
        switch step {
        case .send(let call):
            return send(call, context)
        case .claimToken:
            guard let sharedToken else { return perform(machine.tokenClaimed(.fetch), context) }
            switch sharedToken.cache.claim(sharedToken.key) {
            case .token(let token):
                return perform(machine.tokenClaimed(.token(token)), context)
            case .wait(let signal):
                waitingForToken = signal
                return .wait(fd: signal.descriptor, events: .readable)
            case .fetch:
                fetching = true
                return perform(machine.tokenClaimed(.fetch), context)
            }
        case .finish(let outcome):
            publish(nil, expiresIn: 0)
            return .finished(outcome)
        case .effect(let effect, let then):
            switch effect {
            case .publishToken(let token, let expiresIn): publish(token, expiresIn: expiresIn)
            case .refreshedTokens(let tokens): context.recordRefreshedTokens(tokens)
            case .expiry(let code, let date, let attr): context.recordExpiry(code, at: date, attr: attr)
            case .deliver(let result): deliver?(result)
            }
            return perform(then, context)
        }
    }

    private func send(_ call: HTTPCall, _ context: ProbeContext) -> ProbeStep {
        closeTransfer()
        guard let host = HTTPTransfer.hostAndPort(call.url)?.host, let address = context.address(for: host) else {
            return perform(.finish(ProbeOutcome(.protocolError, detail: "No approved address for the request's host.")), context)
        }
        self.call = call
        reached = .connecting
        do {
            let next = try HTTPTransfer(
                HTTPRequestSpec(
                    method: call.method, url: call.url, headers: call.headers, body: call.body, address: address, caFile: call.caFile))
            transfer = next
            return handle(next.start(), context)
        } catch {
            return perform(.finish(ProbeOutcome(.protocolError, detail: error.description)), context)
        }
    }

    private func handle(_ step: TransferStep, _ context: ProbeContext) -> ProbeStep {
        switch step {
        case .wait(let fd, let events):
            self.fd = fd
            return .wait(fd: fd, events: events)
        case .finished(let result):
            closeTransfer()
            if let notAfter = result.peerCertificateNotAfter {
                context.recordExpiry(.certificateExpires, at: Date(timeIntervalSince1970: Double(notAfter)), attr: nil)
            }
            return perform(machine.received(result), context)
        }
    }

    private func publish(_ token: String?, expiresIn: Int) {
        guard fetching, let sharedToken else { return }
        fetching = false
        sharedToken.cache.finish(sharedToken.key, token: token, expiresIn: expiresIn)
    }

    private func closeTransfer() {
        transfer?.close()
        transfer = nil
        fd = -1
    }
}

/// How far an HTTP probe's transfer in flight has come.
private enum Reached {
    case connecting
    /// Connected, in the TLS handshake.
    case handshaking
    /// In the call's own stage.
    case calling
}
