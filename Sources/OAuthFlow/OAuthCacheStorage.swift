/// Where OAuth flow entries live between the steps of a flow: Redis when `REDIS_URL` is set
/// (replicas share flows), else a table in the connector store. Values arrive sealed; a storage
/// only keeps bytes under a key until a deadline.
public protocol OAuthCacheStorage: Sendable {
    /// Stores (or replaces) `value` under `key` for `ttl`.
    func store(_ key: String, value: [UInt8], ttl: Duration) async throws
    /// The unexpired value under `key`, left in place.
    func fetch(_ key: String) async throws -> [UInt8]?
    /// The unexpired value under `key`, removed in the same step: of two takers, one gets it.
    func take(_ key: String) async throws -> [UInt8]?
    /// Removes `key` while it still holds `expected`. - Returns: whether it was removed.
    @discardableResult
    func remove(_ key: String, ifValue expected: [UInt8]) async throws -> Bool
}

/// The OAuth cache cannot be reached (Redis down): a 503 with `Retry-After`, never a 408 or 500.
public struct OAuthCacheUnavailable: Error, Sendable, CustomStringConvertible {
    public let reason: String

    public init(_ reason: String) {
        self.reason = reason
    }

    public var description: String { "OAuth cache unavailable: \(reason)" }
}
