import Testing

@testable import RedisClient

@Suite struct PoolStateTests {
    final class Connection {}
    typealias State = PoolState<Connection>

    private func granted(_ action: State.LeaseAction) -> State.Grant? {
        if case .grant(let grant) = action { return grant }
        return nil
    }

    private func isOpen(_ grant: State.Grant?) -> Bool {
        if case .open = grant { return true }
        return false
    }

    private func connection(_ grant: State.Grant?) -> Connection? {
        if case .connection(let connection) = grant { return connection }
        return nil
    }

    /// Leases a slot for command 1 and opens its connection.
    private func leaseAndOpen(in state: inout State) -> Connection {
        let connection = Connection()
        _ = state.lease(1)
        _ = state.opened(connection)
        return connection
    }

    @Test func slotsAreGrantedUpToTheLimitThenCommandsWait() {
        var state = State(limit: 2)
        #expect(isOpen(granted(state.lease(1))))
        #expect(isOpen(granted(state.lease(2))))
        guard case .wait = state.lease(3) else {
            Issue.record("a third lease should wait")
            return
        }
        #expect(state.count == 2)
        #expect(state.waiters == [3])
    }

    @Test func aReleasedConnectionGoesToTheFirstWaiterElseBecomesIdle() {
        var state = State(limit: 1)
        let first = Connection()
        _ = state.lease(1)
        let opened = state.opened(first)
        #expect(opened)
        _ = state.lease(2)
        _ = state.lease(3)
        let handover = state.release(first, reusable: true)
        #expect(handover.close == nil)
        #expect(handover.handover?.waiter == 2)
        #expect(connection(handover.handover?.grant) === first)
        #expect(state.release(first, reusable: true).handover?.waiter == 3)
        let last = state.release(first, reusable: true)
        #expect(last.close == nil && last.handover == nil)
        #expect(state.idle.count == 1)
        #expect(connection(granted(state.lease(4))) === first)
    }

    @Test func aBrokenConnectionIsClosedAndItsSlotGoesToAWaiter() {
        var state = State(limit: 1)
        let broken = leaseAndOpen(in: &state)
        _ = state.lease(2)
        let result = state.release(broken, reusable: false)
        #expect(result.close === broken)
        #expect(result.handover?.waiter == 2)
        #expect(isOpen(result.handover?.grant))
        #expect(state.count == 1)
        #expect(state.opening == 1)
    }

    @Test func aFailedOpenFreesTheSlotForTheNextWaiter() {
        var state = State(limit: 1)
        _ = state.lease(1)
        _ = state.lease(2)
        let handover = state.openFailed()
        #expect(handover?.waiter == 2)
        #expect(isOpen(handover?.grant))
        #expect(state.openFailed() == nil)
        #expect(state.count == 0)
    }

    @Test func anIdleConnectionThatClosesLeavesThePool() {
        var state = State(limit: 1)
        let connection = leaseAndOpen(in: &state)
        _ = state.release(connection, reusable: true)
        #expect(state.idle.count == 1)
        #expect(state.closed(connection) == nil)
        #expect(state.count == 0)
        #expect(isOpen(granted(state.lease(2))))
    }

    @Test func aWaiterThatGaveUpIsSkipped() {
        var state = State(limit: 1)
        let connection = leaseAndOpen(in: &state)
        _ = state.lease(2)
        _ = state.lease(3)
        let removed = state.removeWaiter(2)
        let removedAgain = state.removeWaiter(2)
        #expect(removed && !removedAgain)
        #expect(state.release(connection, reusable: true).handover?.waiter == 3)
    }

    @Test func shutDownClosesEverythingAndRefusesNewLeases() {
        var state = State(limit: 2)
        let idle = Connection()
        let lent = Connection()
        _ = state.lease(1)
        _ = state.opened(idle)
        _ = state.lease(2)
        _ = state.opened(lent)
        _ = state.release(idle, reusable: true)
        _ = state.lease(3)  // takes idle
        _ = state.release(idle, reusable: true)
        _ = state.lease(4)  // takes idle again
        _ = state.lease(5)  // waits
        let (close, fail) = state.shutDown()
        #expect(Set(close.map(ObjectIdentifier.init)) == [ObjectIdentifier(idle), ObjectIdentifier(lent)])
        #expect(fail == [5])
        guard case .shutDown = state.lease(6) else {
            Issue.record("a lease after shutDown should fail")
            return
        }
        #expect(state.release(lent, reusable: true).close === lent)
    }

    @Test func aConnectionOpenedDuringShutDownIsClosed() {
        var state = State(limit: 1)
        _ = state.lease(1)
        _ = state.shutDown()
        let kept = state.opened(Connection())
        #expect(!kept)
        #expect(state.count == 0)
    }
}
