import ConnectorCore
import Foundation
import LinuxIO
import Synchronization

/// The shared record of one probe: its deadline, stage timings and the single completion that
/// delivers its report. The reactor, the resolver and the deadline keeper all touch it, so all
/// mutable state sits behind one mutex; whoever completes it first wins.
final class ProbeTicket: Sendable {
    let id: UInt64
    let startedAt: UInt64
    let deadline: UInt64
    /// Expiries later than this (wall clock) are not warnings yet.
    let warnUntil: Date

    private struct State {
        var stage: ProbeStage = .resolve
        var stageStartedAt: UInt64
        var timings: [StageTiming] = []
        var finished = false
        var reactor: Reactor?
        var continuation: CheckedContinuation<ProbeReport, Never>?
        var refreshedTokens: OAuthTokenSet?
        var expiries: [ProbeWarning] = []
    }

    private let state: Mutex<State>

    /// Time left until the deadline, in whole milliseconds (0 once it passed).
    var remainingMilliseconds: Int {
        let now = ProcessClock.now()
        return now >= deadline ? 0 : Int((deadline - now) / 1_000_000)
    }

    init(id: UInt64, timeout: UInt64, warnWithin: Duration, continuation: CheckedContinuation<ProbeReport, Never>) {
        let now = ProcessClock.now()
        self.id = id
        self.startedAt = now
        self.deadline = now + timeout
        self.warnUntil = Date().addingTimeInterval(Double(warnWithin.components.seconds))
        self.state = Mutex(State(stageStartedAt: now, continuation: continuation))
    }

    var currentStage: ProbeStage {
        state.withLock { $0.stage }
    }

    var isFinished: Bool {
        state.withLock { $0.finished }
    }

    /// Moves to `stage` if it comes later than the current one, closing the current stage as done.
    /// Keeps OAuth tokens the probe refreshed, for the report whatever the verdict (a rotated
    /// refresh token must reach the store even when the call after the refresh fails).
    func recordRefreshedTokens(_ tokens: OAuthTokenSet) {
        state.withLock { state in
            guard !state.finished else { return }
            state.refreshedTokens = tokens
        }
    }

    /// Keeps an expiry the probe found, for the report whatever the verdict.
    func recordWarning(_ warning: ProbeWarning) {
        state.withLock { state in
            guard !state.finished else { return }
            state.expiries.append(warning)
        }
    }

    func enter(_ stage: ProbeStage) {
        state.withLock { state in
            guard !state.finished, stage > state.stage else { return }
            let now = ProcessClock.now()
            state.timings.append(StageTiming(stage: state.stage, milliseconds: Self.ms(from: state.stageStartedAt, to: now), ok: true))
            state.stage = stage
            state.stageStartedAt = now
        }
    }

    /// Hands the probe to `reactor`; false if the ticket already finished (the caller then retires
    /// the probe itself).
    func assign(to reactor: Reactor) -> Bool {
        state.withLock { state in
            guard !state.finished else { return false }
            state.reactor = reactor
            return true
        }
    }

    /// Delivers the probe's own verdict; false if the deadline already delivered one.
    @discardableResult
    func complete(_ outcome: ProbeOutcome) -> Bool {
        finish(outcome).delivered
    }

    /// Delivers a timeout at the current stage; returns the reactor that must clean up, if the
    /// probe had reached one. `delivered` is false when the probe had already finished.
    func expire() -> (delivered: Bool, reactor: Reactor?) {
        finish(ProbeOutcome(.timeout))
    }

    /// Delivers the verdict of a probe whose caller cancelled it (a timeout at the current stage,
    /// saying so); like ``expire()`` otherwise.
    func cancel() -> (delivered: Bool, reactor: Reactor?) {
        finish(ProbeOutcome(.timeout), cancelled: true)
    }

    private func finish(_ outcome: ProbeOutcome, cancelled: Bool = false) -> (delivered: Bool, reactor: Reactor?) {
        let taken = state.withLock { state -> (CheckedContinuation<ProbeReport, Never>, ProbeReport, Reactor?)? in
            guard !state.finished, let continuation = state.continuation else { return nil }
            // Read under the lock: a reactor may start a new stage while the deadline fires.
            let now = ProcessClock.now()
            state.finished = true
            state.continuation = nil
            let ok = outcome.code == .ok
            state.timings.append(StageTiming(stage: state.stage, milliseconds: Self.ms(from: state.stageStartedAt, to: now), ok: ok))
            var report = ProbeReport(
                code: outcome.code, stage: outcome.stage ?? state.stage, attr: outcome.attr, detail: outcome.detail,
                hint: outcome.hint, signal: outcome.signal, elapsedMilliseconds: Self.ms(from: startedAt, to: now),
                stages: state.timings)
            report.refreshedTokens = state.refreshedTokens
            report.warnings = state.expiries.filter { $0.expiresAt.map { $0 <= warnUntil } ?? true }
            if cancelled {
                report.detail = "The test was cancelled while in the '\(state.stage.rawValue)' stage."
            } else if outcome.code == .timeout {
                report.detail = "The test did not finish within its deadline; it was waiting in the '\(state.stage.rawValue)' stage."
            }
            return (continuation, report, state.reactor)
        }
        guard let (continuation, report, reactor) = taken else { return (false, nil) }
        continuation.resume(returning: report)
        return (true, reactor)
    }

    /// Milliseconds between two clock readings; zero if they arrive out of order (they may be
    /// taken on different threads).
    static func ms(from start: UInt64, to end: UInt64) -> Double {
        end > start ? Double(end - start) / 1_000_000 : 0
    }
}
