import ConnectorCore
import Foundation
import LinuxIO
import PostgresWire
import ProbeEngine

/// Tests PostgreSQL credentials by speaking the protocol itself: its own non-blocking socket,
/// TLS from a context shared by every probe that trusts the same way, and SCRAM keys from the
/// engine's cache. ``PostgresWireMachine`` decides; this class moves bytes.
final class PostgresNativeProbe: Probe {
    /// What the probe waits for when it returns to the reactor.
    private enum Pending {
        case connecting
        case sending
        case readingSSLAnswer
        case handshaking
        case readingMessages
    }

    private let settings: PostgresSettings
    private let address: IPAddress
    private let trust: TLSTrust
    private var machine: PostgresWireMachine
    private var socket: TCPSocket?
    private var tls: TLSSession?
    private var reader = PostgresMessageReader()
    private var outbox: [UInt8] = []
    private var outboxSent = 0
    private var pending = Pending.connecting
    /// Messages handed to the machine since the probe last returned to the reactor.
    private var turnMessages = 0

    /// - Parameter scope: whose credentials these are, for the SCRAM key cache.
    init(settings: PostgresSettings, address: IPAddress, trust: TLSTrust, keys: SCRAMKeyCache, scope: [UInt8]) {
        self.settings = settings
        self.address = address
        self.trust = trust
        let password = Array(settings.password.utf8)
        machine = PostgresWireMachine(settings: settings) { salt, iterations in
            keys.keys(scope: scope, password: password, salt: salt, iterations: iterations)
        }
    }

    /// Messages read in one turn on the reactor before giving other probes theirs.
    static let messagesPerTurn = 64

    func start(_ context: ProbeContext) -> ProbeStep {
        perform(.act(machine.start()), context)
    }

    func resume(_ context: ProbeContext, events: IOEvents) -> ProbeStep {
        turnMessages = 0
        switch pending {
        case .connecting:
            let error = socket.map { SocketState.pendingError($0.fd) } ?? EBADF
            return perform(.act(machine.connected(error: error)), context)
        case .sending: return perform(flush(), context)
        case .readingSSLAnswer: return perform(readSSLAnswer(), context)
        case .handshaking: return perform(handshake(context), context)
        case .readingMessages: return perform(readMessages(), context)
        }
    }

    func close() {
        tls = nil
        socket?.close()
        socket = nil
    }

    /// What comes after an I/O step: the machine's next action, or a wait on the socket.
    private enum Next {
        case act(PostgresWireMachine.Action)
        case wait(IOEvents)
    }

    /// Carries out actions until one of them waits or finishes.
    private func perform(_ first: Next, _ context: ProbeContext) -> ProbeStep {
        var next = first
        while true {
            context.enter(machine.stage)
            let action: PostgresWireMachine.Action
            switch next {
            case .wait(let events):
                guard let socket else { return .finished(ProbeOutcome(.serverError, detail: "The probe lost its socket.")) }
                return .wait(fd: socket.fd, events: events)
            case .act(let chosen): action = chosen
            }
            switch action {
            case .connect:
                close()
                reader = PostgresMessageReader()
                let socket = TCPSocket()
                self.socket = socket
                let error = socket.connect(to: address, port: settings.port)
                pending = .connecting
                next = error != 0 ? .act(machine.connected(error: error)) : .wait(.writable)
            case .send(let bytes):
                outbox = bytes
                outboxSent = 0
                next = flush()
            case .readSSLAnswer: next = readSSLAnswer()
            case .startTLS:
                guard let socket, let tlsContext = try? TLSContextCache.shared.context(for: trust),
                    let session = TLSSession(context: tlsContext, fd: socket.fd, serverName: serverName)
                else {
                    next = .act(machine.handshakeFinished(.failed))
                    continue
                }
                tls = session
                next = handshake(context)
            case .readMessages: next = readMessages()
            case .finish(let outcome):
                sendTerminate()
                if case .some(.some(let text)) = machine.passwordExpiry, let seconds = Double(text), seconds.isFinite {
                    context.recordExpiry(.passwordExpires, at: Date(timeIntervalSince1970: seconds), attr: "password")
                }
                return .finished(outcome)
            }
        }
    }

    /// SNI: the host name, unless the host is an address (libpq sends none then).
    private var serverName: String? {
        IPAddress(numeric: settings.host) == nil ? settings.host : nil
    }

    // MARK: Moving bytes

    /// Writes the outbox; once all of it is out, the machine says what follows.
    private func flush() -> Next {
        while outboxSent < outbox.count {
            let result = outbox.withUnsafeBytes { bytes in write(UnsafeRawBufferPointer(rebasing: bytes[outboxSent...])) }
            switch result {
            case .moved(let count): outboxSent += count
            case .wait(let events):
                pending = .sending
                return .wait(events)
            case .lost: return .act(machine.lost())
            }
        }
        // The answer to what just went out cannot be there yet: wait for it rather than try a
        // read that would find nothing, unless bytes read earlier are still held.
        switch machine.sent() {
        case .readSSLAnswer:
            pending = .readingSSLAnswer
            return .wait(.readable)
        case .readMessages where reader.isEmpty && !(tls?.hasPending ?? false):
            pending = .readingMessages
            return .wait(.readable)
        case let next: return .act(next)
        }
    }

    private func readSSLAnswer() -> Next {
        guard let socket else { return .act(machine.lost()) }
        // One byte only: what follows belongs to the TLS handshake.
        var byte: UInt8 = 0
        let result = withUnsafeMutableBytes(of: &byte) { socket.read(into: $0) }
        switch result {
        case .moved: return .act(machine.sslAnswer(byte))
        case .wouldBlock:
            pending = .readingSSLAnswer
            return .wait(.readable)
        case .closed, .failed: return .act(machine.lost())
        }
    }

    private func handshake(_ context: ProbeContext) -> Next {
        guard let tls else { return .act(machine.handshakeFinished(.failed)) }
        switch tls.handshake() {
        case .done:
            if let notAfter = tls.peerNotAfter {
                context.recordExpiry(.certificateExpires, at: Date(timeIntervalSince1970: Double(notAfter)), attr: nil)
            }
            // The certificate's names matter only to verify-full; reading them costs decodes.
            let names = settings.sslMode == .verifyFull ? tls.peerNames : PeerNames()
            return .act(machine.handshakeFinished(.done(names: names, endPointHash: tls.endPointHash)))
        case .wantRead:
            pending = .handshaking
            return .wait(.readable)
        case .wantWrite:
            pending = .handshaking
            return .wait(.writable)
        case .closed, .failed:
            // A verification result only means something when verification was asked for.
            let code = trust.verifyChain ? tls.verifyResult : 0
            return .act(machine.handshakeFinished(code != 0 ? .unverified(code) : .failed))
        }
    }

    private func readMessages() -> Next {
        while true {
            do {
                if let message = try reader.next() {
                    turnMessages += 1
                    if turnMessages > Self.messagesPerTurn {
                        // A server that keeps the socket full must not hold the reactor: step
                        // aside until the socket is writable (at once, normally), then go on.
                        turnMessages = 0
                        reader.pushBack(message)
                        pending = .readingMessages
                        return .wait(.writable)
                    }
                    return .act(machine.received(message))
                }
            } catch {
                return .act(machine.lost(malformed: true))
            }
            // A buffer on the stack: a probe keeps no read buffer while it waits.
            let result = withUnsafeTemporaryAllocation(byteCount: 16 * 1024, alignment: 1) { buffer in
                let result = read(into: buffer)
                if case .moved(let count) = result { reader.append(UnsafeRawBufferPointer(rebasing: buffer[..<count])) }
                return result
            }
            switch result {
            case .moved: continue
            case .wait(let events):
                pending = .readingMessages
                return .wait(events)
            case .lost: return .act(machine.lost())
            }
        }
    }

    private enum Transfer {
        case moved(Int)
        case wait(IOEvents)
        case lost
    }

    private func write(_ bytes: UnsafeRawBufferPointer) -> Transfer {
        if let tls { return Self.transfer(tls.write(bytes)) }
        guard let socket else { return .lost }
        return Self.transfer(socket.write(bytes), waiting: .writable)
    }

    private func read(into buffer: UnsafeMutableRawBufferPointer) -> Transfer {
        if let tls { return Self.transfer(tls.read(into: buffer)) }
        guard let socket else { return .lost }
        return Self.transfer(socket.read(into: buffer), waiting: .readable)
    }

    private static func transfer(_ progress: TLSSession.Progress) -> Transfer {
        switch progress {
        case .done(let count): .moved(count)
        case .wantRead: .wait(.readable)
        case .wantWrite: .wait(.writable)
        case .closed, .failed: .lost
        }
    }

    private static func transfer(_ progress: TCPSocket.Progress, waiting events: IOEvents) -> Transfer {
        switch progress {
        case .moved(let count): .moved(count)
        case .wouldBlock: .wait(events)
        case .closed, .failed: .lost
        }
    }

    /// Terminate, if the socket takes it at once; the verdict does not wait for it.
    private func sendTerminate() {
        guard socket != nil, !machine.terminateSent else { return }
        _ = PostgresFrontend.terminate.withUnsafeBytes { write($0) }
    }
}
