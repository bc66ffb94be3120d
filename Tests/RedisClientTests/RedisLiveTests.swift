import Foundation
import NIOConcurrencyHelpers
import NIOCore
import TestProcesses
import Testing

@testable import RedisClient

/// The client against the Redis servers of scripts/services.sh (CE_REDIS_*), plus listeners
/// and a redis-server of the tests' own for the failure cases.
@Suite struct RedisLiveTests {
    private func client(_ variable: String = "CE_REDIS_URL", poolSize: Int = 4) throws -> RedisClient {
        var configuration = try RedisServices.configuration(variable)
        configuration.poolSize = poolSize
        return RedisClient(configuration: configuration)
    }

    @Test func setGetAndExpiry() async throws {
        let client = try client()
        try await client.ping()
        let key = RedisServices.key()
        let lasting = RedisServices.key()
        #expect(try await client.get(key) == nil)
        try await client.set(lasting, Array("stays".utf8), expiresIn: .seconds(60))
        #expect(try await client.get(lasting) == Array("stays".utf8))

        let clock = ContinuousClock()
        let setAt = clock.now
        try await client.set(key, Array("token".utf8), expiresIn: .milliseconds(500))
        let value = try await client.get(key)
        // Only a read that surely came before the expiry must see the value (a loaded machine may be slower).
        if clock.now - setAt < .milliseconds(450) { #expect(value == Array("token".utf8)) }
        // Poll until it is gone: bounded, so a PX taken as seconds (or not applied) fails the test.
        var polls = 0
        while try await client.get(key) != nil {
            polls += 1
            try #require(polls < 250, "the value outlived its 500 ms expiry by seconds")
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(clock.now - setAt >= .milliseconds(500), "gone before its expiry")
        #expect(try await client.get(lasting) == Array("stays".utf8))
        #expect(try await client.delete(lasting))
        #expect(try await !client.delete(lasting))
        #expect(try await client.get(lasting) == nil)
        await client.shutdown()
    }

    @Test func getDeleteHandsTheValueToExactlyOneTaker() async throws {
        let client = try client()
        for round in 0..<25 {
            let key = RedisServices.key()
            try await client.set(key, Array("v\(round)".utf8), expiresIn: .seconds(30))
            async let first = client.getDelete(key)
            async let second = client.getDelete(key)
            let taken = [try await first, try await second].compactMap { $0 }
            #expect(taken == [Array("v\(round)".utf8)])
            #expect(try await client.get(key) == nil)
        }
        await client.shutdown()
    }

    @Test func compareAndDeleteDeletesOnlyTheExpectedValue() async throws {
        let client = try client()
        let key = RedisServices.key()
        #expect(try await !client.compareAndDelete(key, expected: Array("mine".utf8)))
        try await client.set(key, Array("theirs".utf8), expiresIn: .seconds(30))
        #expect(try await !client.compareAndDelete(key, expected: Array("mine".utf8)))
        #expect(try await client.get(key) == Array("theirs".utf8))
        #expect(try await client.compareAndDelete(key, expected: Array("theirs".utf8)))
        #expect(try await client.get(key) == nil)
        await client.shutdown()
    }

    @Test func binaryValuesRoundTrip() async throws {
        let client = try client()
        let key = RedisServices.key() + " \r\n\u{0}é"
        let tricky: [UInt8] = [0, 13, 10, 13, 10, 36, 45, 49, 13, 10, 42, 0] + Array(0...255)
        try await client.set(key, tricky, expiresIn: .seconds(30))
        #expect(try await client.get(key) == tricky)
        let large = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try await client.set(key, large, expiresIn: .seconds(30))
        #expect(try await client.getDelete(key) == large)
        try await client.set(key, [], expiresIn: .seconds(30))
        #expect(try await client.getDelete(key) == [])
        await client.shutdown()
    }

    @Test func theACLUserAndDatabaseAreUsed() async throws {
        let acl = try client("CE_REDIS_ACL_URL")
        let database0 = try client()
        var configuration = try RedisServices.configuration("CE_REDIS_URL")
        configuration.database = 1
        let database1 = RedisClient(configuration: configuration)
        #expect(try RedisServices.configuration("CE_REDIS_ACL_URL").username != nil)
        #expect(try RedisServices.configuration("CE_REDIS_ACL_URL").database == 1)

        let key = RedisServices.key()
        try await acl.set(key, Array("in db 1".utf8), expiresIn: .seconds(30))
        #expect(try await database0.get(key) == nil)
        #expect(try await database1.get(key) == Array("in db 1".utf8))
        try await database0.set(key, Array("in db 0".utf8), expiresIn: .seconds(30))
        #expect(try await acl.getDelete(key) == Array("in db 1".utf8))
        #expect(try await database0.getDelete(key) == Array("in db 0".utf8))
        for client in [acl, database0, database1] { await client.shutdown() }
    }

    @Test func wrongPasswordsAreRefusedWithoutShowingThem() async throws {
        let password = try RedisServices.value("CE_REDIS_PASSWORD")
        var configuration = try RedisServices.configuration("CE_REDIS_URL")
        configuration.password = password + "-wrong"
        var acl = try RedisServices.configuration("CE_REDIS_ACL_URL")
        let aclPassword = try #require(acl.password)
        acl.password = aclPassword + "-wrong"
        for configuration in [configuration, acl] {
            let client = RedisClient(configuration: configuration)
            let error = await redisError { try await client.ping() }
            #expect(error == .server(code: "WRONGPASS"))
            for text in ["\(String(describing: error))", String(reflecting: error)] {
                #expect(!text.contains(password) && !text.contains(aclPassword))
            }
            await client.shutdown()
        }
        configuration.password = nil
        let anonymous = RedisClient(configuration: configuration)
        #expect(await redisError { _ = try await anonymous.get("k") } == .server(code: "NOAUTH"))
        await anonymous.shutdown()
    }

    @Test func tlsIsVerifiedAgainstTheCAAndTheHostName() async throws {
        let caFile = try RedisServices.value("CE_REDIS_CA_FILE")
        let verified = RedisClient(configuration: try RedisServices.configuration("CE_REDIS_TLS_URL", caFile: caFile))
        let key = RedisServices.key()
        try await verified.set(key, Array("over TLS".utf8), expiresIn: .seconds(30))
        #expect(try await verified.getDelete(key) == Array("over TLS".utf8))
        await verified.shutdown()

        let systemRoots = RedisClient(configuration: try RedisServices.configuration("CE_REDIS_TLS_URL"))
        let untrusted = await redisError { try await systemRoots.ping() }
        #expect(untrusted == .unavailable("TLS handshake failed: the server certificate is not trusted"))
        await systemRoots.shutdown()

        var byAddress = try RedisServices.configuration("CE_REDIS_TLS_URL", caFile: caFile)
        byAddress.host = "127.0.0.1"  // the certificate names localhost only
        let wrongName = RedisClient(configuration: byAddress)
        let mismatch = await redisError { try await wrongName.ping() }
        #expect(mismatch == .unavailable("TLS handshake failed: the server certificate does not name the host"))
        await wrongName.shutdown()

        var plainToTLS = try RedisServices.configuration("CE_REDIS_URL", caFile: caFile)
        plainToTLS.tls = true
        let notTLS = RedisClient(configuration: plainToTLS)
        #expect(isUnavailable(await redisError { try await notTLS.ping() }))
        await notTLS.shutdown()
    }

    /// A port that refuses connections (held by this test, bound and not listening, so no other
    /// test can take it): unavailable with the refusal itself.
    @Test func aClosedPortIsUnavailableWithTheRefusal() async throws {
        let closed = try HeldPort(listening: false)
        var configuration = try RedisServices.configuration("CE_REDIS_URL")
        configuration.port = closed.port
        let client = RedisClient(configuration: configuration)
        let error = await redisError { try await client.ping() }
        #expect(isUnavailable(error, "connection refused"), "\(String(describing: error))")
        await client.shutdown()
    }

    @Test func aServerThatNeverAnswersTimesOut() async throws {
        let silent = try await FakeRedisServer.start { _, _ in nil }
        let password = try RedisServices.value("CE_REDIS_PASSWORD")
        var configuration = RedisConfiguration(host: "127.0.0.1", port: silent.port)
        configuration.commandTimeout = .milliseconds(300)
        configuration.connectTimeout = .milliseconds(400)
        let client = RedisClient(configuration: configuration)
        var start = ContinuousClock.now
        #expect(await redisError { try await client.ping() } == .unavailable("command timed out"))
        var elapsed = ContinuousClock.now - start
        #expect(elapsed >= .milliseconds(290) && elapsed < .seconds(2), "\(elapsed)")
        await client.shutdown()

        // With a password, the AUTH on connect goes unanswered: the connect timeout applies.
        configuration.password = password
        let authenticating = RedisClient(configuration: configuration)
        start = .now
        let error = await redisError { try await authenticating.ping() }
        elapsed = ContinuousClock.now - start
        #expect(isUnavailable(error, "connect timed out"), "\(String(describing: error))")
        #expect(!"\(String(describing: error))".contains(password))
        #expect(elapsed >= .milliseconds(390) && elapsed < .seconds(2), "\(elapsed)")
        await authenticating.shutdown()
        await silent.stop()
    }

    @Test func aTimedOutConnectionIsReplacedByANewOne() async throws {
        let server = try await FakeRedisServer.start { connection, _ in connection == 1 ? nil : "+PONG\r\n" }
        var configuration = RedisConfiguration(host: "127.0.0.1", port: server.port)
        configuration.commandTimeout = .seconds(1)  // long enough for a new connection on a busy machine
        let client = RedisClient(configuration: configuration)
        #expect(await redisError { try await client.ping() } == .unavailable("command timed out"))
        try await client.ping()
        try await client.ping()
        #expect(server.connectionCount == 2)
        await client.shutdown()
        await server.stop()
    }

    @Test func thePoolOpensAtMostPoolSizeConnections() async throws {
        let server = try await FakeRedisServer.start(delay: .milliseconds(10)) { _, _ in "+PONG\r\n" }
        var configuration = RedisConfiguration(host: "127.0.0.1", port: server.port)
        configuration.poolSize = 3
        // What is counted is connections, not time: waiting for a free one may take long on a busy machine.
        configuration.commandTimeout = .seconds(30)
        let client = RedisClient(configuration: configuration)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<30 { group.addTask { try await client.ping() } }
            try await group.waitForAll()
        }
        #expect(server.connectionCount == 3)
        #expect(server.commandCount == 30)
        await client.shutdown()
        await server.stop()
    }

    @Test func loadingRepliesAreRetried() async throws {
        let replies = NIOLockedValueBox(0)
        let loadingTwice = try await FakeRedisServer.start { _, _ in
            let seen = replies.withLockedValue { count in
                count += 1
                return count
            }
            return seen <= 2 ? "-LOADING Redis is loading the dataset in memory\r\n" : "$1\r\nv\r\n"
        }
        let client = RedisClient(configuration: RedisConfiguration(host: "127.0.0.1", port: loadingTwice.port))
        #expect(try await client.get("k") == Array("v".utf8))
        #expect(loadingTwice.commandCount == 3)
        #expect(loadingTwice.connectionCount == 1)
        await client.shutdown()
        await loadingTwice.stop()

        let stillLoading = try await FakeRedisServer.start { _, command in
            command == ["PING"] ? "+PONG\r\n" : "-LOADING Redis is loading the dataset in memory\r\n"
        }
        let impatient = RedisClient(configuration: RedisConfiguration(host: "127.0.0.1", port: stillLoading.port))
        #expect(await redisError { _ = try await impatient.get("k") } == .server(code: "LOADING"))
        #expect(stillLoading.commandCount == RedisClient.loadingAttempts)
        try await impatient.ping()
        await impatient.shutdown()
        await stillLoading.stop()
    }

    @Test func anAbsurdReplyLengthIsAProtocolError() async throws {
        let server = try await FakeRedisServer.start { connection, _ in connection == 1 ? "$999999999999\r\n" : "+PONG\r\n" }
        let client = RedisClient(configuration: RedisConfiguration(host: "127.0.0.1", port: server.port))
        let error = await redisError { _ = try await client.get("k") }
        #expect(error == .protocolError("bulk string length 999999999999 exceeds 512 MiB"))
        try await client.ping()
        #expect(server.connectionCount == 2)
        await client.shutdown()
        await server.stop()
    }

    @Test func aRestartedServerIsUsedAgain() async throws {
        let server = try RedisServerProcess(port: try await freePort())
        try server.start()
        var configuration = RedisConfiguration(host: "127.0.0.1", port: server.port)
        configuration.connectTimeout = .milliseconds(500)
        configuration.commandTimeout = .milliseconds(500)
        let client = RedisClient(configuration: configuration)
        try await waitUntilAnswering(client)
        let key = RedisServices.key()
        try await client.set(key, Array("before".utf8), expiresIn: .seconds(30))
        #expect(try await client.get(key) == Array("before".utf8))

        server.kill()
        let start = ContinuousClock.now
        let error = await redisError { _ = try await client.get(key) }
        #expect(isUnavailable(error), "\(String(describing: error))")
        #expect(ContinuousClock.now - start < .seconds(1))

        try server.start()
        try await waitUntilAnswering(client)
        #expect(try await client.get(key) == nil)  // nothing persisted
        try await client.set(key, Array("after".utf8), expiresIn: .seconds(30))
        #expect(try await client.getDelete(key) == Array("after".utf8))
        await client.shutdown()
        server.kill()
    }

    @Test func afterShutdownCommandsFail() async throws {
        let client = try client()
        try await client.ping()
        await client.shutdown()
        #expect(await redisError { try await client.ping() } == .unavailable("the client was shut down"))
    }

    /// Pings until the server answers: a bounded polling loop, since a started redis-server
    /// needs a moment before it accepts connections.
    private func waitUntilAnswering(_ client: RedisClient) async throws {
        for _ in 0..<100 {
            if await redisError({ try await client.ping() }) == nil { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        try await client.ping()
    }
}
