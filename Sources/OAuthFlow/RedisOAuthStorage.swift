import RedisClient

/// The OAuth cache in Redis (`REDIS_URL`), so replicas share flows: keys are the storage keys
/// themselves, values the sealed bytes, expiry Redis's own (`PX`). Any Redis failure is
/// ``OAuthCacheUnavailable``: the API answers 503 and the flow's entry is untouched.
public struct RedisOAuthStorage: OAuthCacheStorage {
    let client: RedisClient

    public init(client: RedisClient) {
        self.client = client
    }

    /// PING: whether Redis answers (readiness).
    public func ping() async throws {
        try await client.ping()
    }

    public func store(_ key: String, value: [UInt8], ttl: Duration) async throws {
        try await unavailableOnFailure { () async throws(RedisError) in try await client.set(key, value, expiresIn: ttl) }
    }

    public func fetch(_ key: String) async throws -> [UInt8]? {
        try await unavailableOnFailure { () async throws(RedisError) in try await client.get(key) }
    }

    public func take(_ key: String) async throws -> [UInt8]? {
        try await unavailableOnFailure { () async throws(RedisError) in try await client.getDelete(key) }
    }

    @discardableResult
    public func remove(_ key: String, ifValue expected: [UInt8]) async throws -> Bool {
        try await unavailableOnFailure { () async throws(RedisError) in try await client.compareAndDelete(key, expected: expected) }
    }

    private func unavailableOnFailure<T>(_ command: () async throws(RedisError) -> T) async throws -> T {
        do {
            return try await command()
        } catch {
            throw OAuthCacheUnavailable(error.description)
        }
    }
}
