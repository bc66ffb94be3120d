/// The bookkeeping of a bounded connection pool, without any I/O: which connections are idle
/// or lent out, how many are being opened, and who waits. Each call says what the caller
/// must do next (hand a connection to a waiter, let a waiter open one, close one).
///
/// A command holds a connection alone from lease to release: commands are not pipelined.
struct PoolState<Connection: AnyObject> {
    typealias WaiterID = UInt64

    /// What a lease gets: an open connection, or a reserved slot to open a new one in.
    enum Grant {
        case connection(Connection)
        case open
    }

    enum LeaseAction {
        case grant(Grant)
        /// Every slot is taken: the caller waits until `release`, `openFailed` or `closed`
        /// names it, or gives up with `removeWaiter`.
        case wait
        case shutDown
    }

    /// A waiter that can go on, with what it gets.
    struct Handover {
        var waiter: WaiterID
        var grant: Grant
    }

    /// The most connections open or being opened at once.
    let limit: Int
    private(set) var idle: [Connection] = []
    private(set) var leased: [ObjectIdentifier: Connection] = [:]
    private(set) var opening = 0
    private(set) var waiters: [WaiterID] = []
    private(set) var isShutDown = false

    init(limit: Int) {
        self.limit = max(1, limit)
    }

    /// Connections open, lent out or being opened.
    var count: Int { idle.count + leased.count + opening }

    /// Asks for a connection: the most recently used idle one, else a slot to open one in, else
    /// a place in the queue.
    mutating func lease(_ waiter: WaiterID) -> LeaseAction {
        if isShutDown { return .shutDown }
        if let connection = idle.popLast() {
            leased[ObjectIdentifier(connection)] = connection
            return .grant(.connection(connection))
        }
        if count < limit {
            opening += 1
            return .grant(.open)
        }
        waiters.append(waiter)
        return .wait
    }

    /// A connection opened in a granted slot is now lent to its opener.
    /// - Returns: `false` when the pool shut down meanwhile: the caller closes the connection.
    mutating func opened(_ connection: Connection) -> Bool {
        opening -= 1
        guard !isShutDown else { return false }
        leased[ObjectIdentifier(connection)] = connection
        return true
    }

    /// Opening a connection in a granted slot failed; the slot may go to the next waiter.
    mutating func openFailed() -> Handover? {
        opening -= 1
        return grantFreeSlot()
    }

    /// A lent connection comes back. A reusable one goes to the first waiter or becomes idle;
    /// any other is to be closed, and its slot may go to the next waiter.
    mutating func release(_ connection: Connection, reusable: Bool) -> (close: Connection?, handover: Handover?) {
        guard leased.removeValue(forKey: ObjectIdentifier(connection)) != nil else {
            // Dropped by shutDown() while lent out.
            return (connection, nil)
        }
        guard reusable, !isShutDown else { return (connection, grantFreeSlot()) }
        if !waiters.isEmpty {
            leased[ObjectIdentifier(connection)] = connection
            return (nil, Handover(waiter: waiters.removeFirst(), grant: .connection(connection)))
        }
        idle.append(connection)
        return (nil, nil)
    }

    /// A connection closed by itself (the server went away). An idle one leaves the pool at
    /// once; a lent one leaves when it is released.
    mutating func closed(_ connection: Connection) -> Handover? {
        guard let index = idle.firstIndex(where: { $0 === connection }) else { return nil }
        idle.remove(at: index)
        return grantFreeSlot()
    }

    /// Takes a waiter out of the queue (it timed out or was cancelled).
    /// - Returns: `false` if it was no longer waiting: something was already handed to it.
    mutating func removeWaiter(_ waiter: WaiterID) -> Bool {
        guard let index = waiters.firstIndex(of: waiter) else { return false }
        waiters.remove(at: index)
        return true
    }

    /// Stops the pool: every connection it knows is to be closed and every waiter failed.
    mutating func shutDown() -> (close: [Connection], fail: [WaiterID]) {
        isShutDown = true
        let connections = idle + Array(leased.values)
        let failed = waiters
        idle = []
        leased = [:]
        waiters = []
        return (connections, failed)
    }

    private mutating func grantFreeSlot() -> Handover? {
        guard !isShutDown, !waiters.isEmpty, count < limit else { return nil }
        opening += 1
        return Handover(waiter: waiters.removeFirst(), grant: .open)
    }
}

extension PoolState: Sendable where Connection: Sendable {}
extension PoolState.Grant: Sendable where Connection: Sendable {}
extension PoolState.Handover: Sendable where Connection: Sendable {}
