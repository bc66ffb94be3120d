import Testing

@testable import RedisClient

@Suite struct RedisConfigurationTests {
    @Test func aFullURLParses() throws {
        let configuration = try RedisConfiguration(url: "redis://cache:s3cret@10.0.0.5:6380/3")
        #expect(configuration.host == "10.0.0.5")
        #expect(configuration.port == 6380)
        #expect(configuration.database == 3)
        #expect(configuration.username == "cache")
        #expect(configuration.password == "s3cret")
        #expect(!configuration.tls)
        #expect(configuration.caFile == nil)
        #expect(configuration.poolSize == 4)
        #expect(configuration.connectTimeout == .seconds(2))
        #expect(configuration.commandTimeout == .seconds(2))
    }

    @Test func defaultsApply() throws {
        let configuration = try RedisConfiguration(url: "redis://localhost")
        #expect(configuration.host == "localhost")
        #expect(configuration.port == 6379)
        #expect(configuration.database == 0)
        #expect(configuration.username == nil)
        #expect(configuration.password == nil)
        #expect(try RedisConfiguration(url: "redis://localhost/").database == 0)
    }

    @Test func aPasswordAloneAuthenticatesTheDefaultUser() throws {
        let configuration = try RedisConfiguration(url: "rediss://:pw@localhost:6390/0", caFile: "/tmp/ca.crt")
        #expect(configuration.username == nil)
        #expect(configuration.password == "pw")
        #expect(configuration.tls)
        #expect(configuration.caFile == "/tmp/ca.crt")
    }

    @Test func userAndPasswordArePercentDecoded() throws {
        let configuration = try RedisConfiguration(url: "redis://us%40er:p%3Aa%2Fs%25s%40w%C3%B6rd@host:1/2")
        #expect(configuration.username == "us@er")
        #expect(configuration.password == "p:a/s%s@wörd")
        // An unescaped @ in the password: the last @ ends the user information.
        #expect(try RedisConfiguration(url: "redis://:a@b@host").password == "a@b")
    }

    @Test func anIPv6HostIsUnbracketed() throws {
        let configuration = try RedisConfiguration(url: "redis://[::1]:7000/1")
        #expect(configuration.host == "::1")
        #expect(configuration.port == 7000)
        #expect(try RedisConfiguration(url: "redis://[::1]").port == 6379)
    }

    @Test(arguments: [
        ("http://localhost", RedisURLError.unsupportedScheme("http")),
        ("localhost:6379", .unsupportedScheme("")),
        ("hunter2secret99://x", .unsupportedScheme("")),
        ("redis://", .missingHost),
        ("redis://:pw@:6379", .missingHost),
        ("redis://host:0", .invalidPort),
        ("redis://host:65536", .invalidPort),
        ("redis://host:", .invalidPort),
        ("redis://host:http", .invalidPort),
        ("redis://[::1]x", .invalidPort),
        ("redis://host/x", .invalidDatabase),
        ("redis://host/-1", .invalidDatabase),
        ("redis://host/1/2", .invalidDatabase),
        ("redis://:pw%zz@host", .invalidPercentEncoding(component: "password")),
        ("redis://:pw%C3@host", .invalidPercentEncoding(component: "password")),
        ("redis://u%4@host", .invalidPercentEncoding(component: "user name")),
        ("redis://user@host", .userWithoutPassword),
        ("redis://host/0?timeout=1", .unsupportedQuery),
    ])
    func badURLsSayWhatIsWrong(url: String, expected: RedisURLError) {
        #expect(throws: expected) { try RedisConfiguration(url: url) }
    }

    @Test func noErrorOrDescriptionRepeatsThePassword() throws {
        let password = "Very$ecretPassw0rd"
        for url in ["redis://:\(password)@host:99999", "redis://u:\(password)@host/x", "redis://:\(password)%@host", "\(password)://x"] {
            do {
                _ = try RedisConfiguration(url: url)
                Issue.record("\(url.count)-character URL was accepted")
            } catch {
                #expect(!"\(error)".contains(password))
                #expect(!String(reflecting: error).contains(password))
            }
        }
        let configuration = try RedisConfiguration(url: "redis://cache:\(password)@host:1/2")
        #expect("\(configuration)" == "redis://cache:***@host:1/2")
        #expect(!String(reflecting: configuration).contains(password))
        var dumped = ""
        dump(configuration, to: &dumped)
        #expect(!dumped.contains(password))
    }
}
