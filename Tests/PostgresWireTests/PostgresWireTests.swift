import Crypto
import Foundation
import Testing

@testable import PostgresWire

@Suite struct PostgresMessagesTests {
    @Test func frontendMessagesHaveTheProtocolsLayout() {
        #expect(PostgresFrontend.sslRequest == [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f])
        let startup = PostgresFrontend.startup([("user", "u"), ("database", "d")])
        #expect(startup == [0, 0, 0, 27, 0, 3, 0, 0] + Array("user\0u\0database\0d\0\0".utf8))
        #expect(PostgresFrontend.password(Array("pw".utf8)) == [UInt8(ascii: "p"), 0, 0, 0, 7] + Array("pw\0".utf8))
        let initial = PostgresFrontend.saslInitialResponse(mechanism: "SCRAM-SHA-256", data: Array("n,,n=,r=x".utf8))
        #expect(initial == [UInt8(ascii: "p"), 0, 0, 0, 31] + Array("SCRAM-SHA-256\0".utf8) + [0, 0, 0, 9] + Array("n,,n=,r=x".utf8))
        #expect(PostgresFrontend.terminate == [UInt8(ascii: "X"), 0, 0, 0, 4])
    }

    @Test func anExtendedQueryBindsItsParameterOutsideTheSQL() {
        let bytes = PostgresFrontend.extendedQuery([("SELECT $1::text", ["a'b"])])
        let types = Self.messageTypes(bytes)
        #expect(types == ["P", "B", "E", "S"])
        // The parameter's bytes stand in the Bind message, the SQL keeps its placeholder.
        #expect(String(decoding: bytes, as: UTF8.self).contains("SELECT $1::text\0"))
        // Parse 24 bytes, Bind 20 (its value "a'b" after its length), Execute 10, Sync 5.
        #expect(bytes.count == 59)
        #expect(Array(bytes[(24 + 15)..<(24 + 18)]) == Array("a'b".utf8))
    }

    static func messageTypes(_ bytes: [UInt8]) -> [String] {
        var types: [String] = []
        var index = 0
        while index < bytes.count {
            types.append(String(UnicodeScalar(bytes[index])))
            index += 1 + Int(PostgresMessageReader.int32(bytes, at: index + 1))
        }
        return types
    }

    static func backend(_ type: Character, _ body: [UInt8]) -> [UInt8] {
        PostgresFrontend.message(type, body)
    }

    @Test func theReaderWaitsForWholeMessagesAcrossReads() throws {
        let stream =
            Self.backend("R", [0, 0, 0, 10] + Array("SCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0".utf8))
            + Self.backend("E", Array("SFATAL\0C28P01\0Mpassword authentication failed\0\0".utf8))
            + Self.backend("D", [0, 2, 0, 0, 0, 1, UInt8(ascii: "t"), 0xff, 0xff, 0xff, 0xff])
            + Self.backend("Z", [UInt8(ascii: "I")])
        var reader = PostgresMessageReader()
        var messages: [PostgresBackendMessage] = []
        // One byte at a time: no message comes out before its last byte.
        for byte in stream {
            reader.append([byte])
            while let message = try reader.next() { messages.append(message) }
        }
        #expect(messages.count == 4)
        #expect(messages[0] == .authentication(.sasl(mechanisms: ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"])))
        #expect(messages[1].sqlState == "28P01")
        #expect(messages[2] == .dataRow(["t", nil]))
        #expect(messages[3] == .readyForQuery(UInt8(ascii: "I")))
        #expect(!reader.hasPartialMessage)
    }

    @Test(arguments: [
        [UInt8(ascii: "R"), 0, 0, 0, 3],  // a length shorter than itself
        [UInt8(ascii: "R"), 0x7f, 0, 0, 0],  // far past the limit
        [UInt8(ascii: "R"), 0, 0, 0, 6, 0, 0],  // an Authentication code cut short
        [UInt8(ascii: "E"), 0, 0, 0, 7, UInt8(ascii: "C"), 0x32, 0x38],  // a field without its NUL
        [UInt8(ascii: "D"), 0, 0, 0, 10, 0, 1, 0, 0, 0, 9, 0, 0],  // a column longer than the row
    ])
    func malformedMessagesAreErrorsNotCrashes(_ bytes: [UInt8]) {
        var reader = PostgresMessageReader()
        reader.append(bytes)
        #expect(throws: PostgresWireError.self) { _ = try reader.next() }
    }

    @Test func authenticationRequestsDecode() throws {
        func decode(_ body: [UInt8]) throws -> PostgresBackendMessage? {
            var reader = PostgresMessageReader()
            reader.append(Self.backend("R", body))
            return try reader.next()
        }
        #expect(try decode([0, 0, 0, 0]) == .authentication(.ok))
        #expect(try decode([0, 0, 0, 3]) == .authentication(.cleartextPassword))
        #expect(try decode([0, 0, 0, 5, 1, 2, 3, 4]) == .authentication(.md5Password(salt: [1, 2, 3, 4])))
        #expect(try decode([0, 0, 0, 11] + Array("r=abc".utf8)) == .authentication(.saslContinue(Array("r=abc".utf8))))
        #expect(try decode([0, 0, 0, 12] + Array("v=xyz".utf8)) == .authentication(.saslFinal(Array("v=xyz".utf8))))
        #expect(try decode([0, 0, 0, 7]) == .authentication(.unsupported(code: 7)))
    }
}

@Suite struct SCRAMTests {
    /// RFC 7677 §3: user "user", password "pencil".
    @Test func theRFC7677ExchangeComesOutByteForByte() throws {
        let client = SCRAMClient(nonce: "rOprNGfwEbeRWgbNEkqO", binding: .unsupported, user: "user")
        #expect(String(decoding: client.firstMessage, as: UTF8.self) == "n,,n=user,r=rOprNGfwEbeRWgbNEkqO")
        let serverFirst = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
        let first = try client.parse(serverFirst: Array(serverFirst.utf8))
        #expect(first.iterations == 4096)
        for derivation in [PBKDF2.openSSL, .boringSSL] {
            let salted = derivation.sha256(password: Array("pencil".utf8), salt: first.salt, iterations: first.iterations)
            let (final, signature) = client.finalMessage(first, keys: SCRAMKeys(saltedPassword: salted))
            #expect(
                String(decoding: final, as: UTF8.self)
                    == "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
            try SCRAMClient.verify(serverFinal: Array("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=".utf8), expected: signature)
            #expect(throws: SCRAMError.badServerSignature) {
                try SCRAMClient.verify(serverFinal: Array("v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=".utf8), expected: signature)
            }
        }
    }

    @Test func theServerMustExtendTheNonceAndMayRefuse() throws {
        let client = SCRAMClient(nonce: "abc", binding: .unsupported)
        #expect(throws: SCRAMError.nonceMismatch) { try client.parse(serverFirst: Array("r=xyz123,s=c2FsdA==,i=4096".utf8)) }
        #expect(throws: SCRAMError.nonceMismatch) { try client.parse(serverFirst: Array("r=abc,s=c2FsdA==,i=4096".utf8)) }
        #expect(throws: SCRAMError.malformed) { try client.parse(serverFirst: Array("r=abcd,s=c2FsdA==".utf8)) }
        #expect(throws: SCRAMError.malformed) { try client.parse(serverFirst: Array("r=abcd,s=c2FsdA==,i=0".utf8)) }
        #expect(throws: SCRAMError.serverError("invalid-proof")) {
            try SCRAMClient.verify(serverFinal: Array("e=invalid-proof".utf8), expected: [])
        }
    }

    @Test func channelBindingHeadersAndTheBoundData() throws {
        #expect(String(decoding: SCRAMClient(nonce: "n", binding: .notOffered).firstMessage, as: UTF8.self) == "y,,n=,r=n")
        let hash: [UInt8] = Array(repeating: 7, count: 32)
        let plus = SCRAMClient(nonce: "n", binding: .tlsServerEndPoint(hash))
        #expect(plus.mechanism == "SCRAM-SHA-256-PLUS")
        #expect(String(decoding: plus.firstMessage, as: UTF8.self) == "p=tls-server-end-point,,n=,r=n")
        let first = try plus.parse(serverFirst: Array("r=nServer,s=c2FsdA==,i=4096".utf8))
        let (final, _) = plus.finalMessage(first, keys: SCRAMKeys(clientKey: Array(repeating: 1, count: 32), serverKey: []))
        let expected = Data(Array("p=tls-server-end-point,,".utf8) + hash).base64EncodedString()
        #expect(String(decoding: final, as: UTF8.self).hasPrefix("c=\(expected),r=nServer,p="))
        // `y,,` binds nothing but says so: libpq's c=eSws.
        let notOffered = SCRAMClient(nonce: "n", binding: .notOffered)
        let (plain, _) = notOffered.finalMessage(first, keys: SCRAMKeys(clientKey: Array(repeating: 1, count: 32), serverKey: []))
        #expect(String(decoding: plain, as: UTF8.self).hasPrefix("c=eSws,"))
    }

    @Test func theKeyCacheDerivesOncePerCredentialAndScope() {
        let cache = SCRAMKeyCache(capacity: 3)
        let salt: [UInt8] = Array("salt".utf8)
        let alice = Array("tenant-a\0db\05432\0u".utf8)
        let first = cache.keys(scope: alice, password: Array("pw1".utf8), salt: salt, iterations: 4096)
        #expect(cache.keys(scope: alice, password: Array("pw1".utf8), salt: salt, iterations: 4096) == first)
        #expect(cache.statistics.hits == 1 && cache.statistics.misses == 1)
        // Another tenant's test of the same password is a miss: no answer comes faster for it.
        let bob = Array("tenant-b\0db\05432\0u".utf8)
        #expect(cache.keys(scope: bob, password: Array("pw1".utf8), salt: salt, iterations: 4096) == first)
        #expect(cache.statistics.misses == 2)
        // Another password or iteration count is another entry; the cache stays bounded.
        #expect(cache.keys(scope: alice, password: Array("pw2".utf8), salt: salt, iterations: 4096) != first)
        #expect(cache.keys(scope: alice, password: Array("pw1".utf8), salt: salt, iterations: 4097) != first)
        #expect(cache.statistics.entries == 3)
        let expected = SCRAMKeys(saltedPassword: PBKDF2.openSSL.sha256(password: Array("pw1".utf8), salt: salt, iterations: 4096))
        #expect(first == expected)
    }

    @Test func aServerAskingForMoreThanAMillionIterationsIsRefused() {
        let client = SCRAMClient(nonce: "abc", binding: .unsupported)
        #expect(throws: SCRAMError.malformed) { try client.parse(serverFirst: Array("r=abcd,s=c2FsdA==,i=1000001".utf8)) }
        #expect(throws: Never.self) { try client.parse(serverFirst: Array("r=abcd,s=c2FsdA==,i=1000000".utf8)) }
    }
}

@Suite struct HostNameTests {
    static func names(dns: [String] = [], ip: [[UInt8]] = [], cn: String? = nil) -> PeerNames {
        PeerNames(
            alternativeNames: dns.map { .dns(Array($0.utf8)) } + ip.map { .ip($0) }, commonName: cn.map { Array($0.utf8) })
    }

    @Test(arguments: [
        (names(dns: ["db.example.com"]), "DB.example.com", true),
        (names(dns: ["*.example.com"]), "db.example.com", true),
        (names(dns: ["*.example.com"]), "a.db.example.com", false),
        (names(dns: ["*.example.com"]), "example.com", false),
        (names(dns: ["*."]), "foo.", false),  // libpq wants at least `*.` and one more byte
        (names(dns: ["other.example.com"], cn: "db.example.com"), "db.example.com", false),  // a DNS SAN hides the CN
        (names(ip: [[10, 0, 0, 1]], cn: "db.example.com"), "db.example.com", true),  // only IP SANs: the CN counts
        (names(cn: "db.example.com"), "db.example.com", true),
        (names(ip: [[127, 0, 0, 1]]), "127.0.0.1", true),
        (names(ip: [[127, 0, 0, 1]]), "127.1", true),  // inet_aton's short form, as libpq reads it
        (names(dns: ["localhost"], cn: "127.0.0.1"), "127.0.0.1", true),  // an IP host falls back to the CN
        (names(ip: [[127, 0, 0, 2]], cn: "127.0.0.1"), "127.0.0.1", false),
        (names(dns: ["db.example.com\0.evil.com"]), "db.example.com", false),
        (names(dns: ["bad\0name", "db.example.com"]), "db.example.com", false),  // a malformed entry first ends the check
        (names(dns: ["db.example.com", "bad\0name"]), "db.example.com", true),  // a match first wins
        (names(ip: [[1, 2, 3]], cn: "127.0.0.1"), "127.0.0.1", false),  // an address of the wrong length
        (names(dns: ["DB.EXAMPLE.COM"]), "db.example.com", true),
        (names(dns: ["dB.exämple.com"]), "db.exÄmple.com", false),  // case folding is ASCII only, as libpq's
    ])
    func libpqsRulesForVerifyFull(_ names: PeerNames, _ host: String, _ matches: Bool) {
        #expect(names.match(host: host) == matches)
    }
}

@Suite struct TLSContextCacheTests {
    /// One OpenSSL context per trust configuration, shared by every probe that has it.
    @Test func oneContextPerTrustConfigurationWithinTheCapacity() throws {
        let cache = TLSContextCache(capacity: 2)
        let unverified = TLSTrust(caPEM: nil, caBundleFile: nil, verifyChain: false)
        let system = TLSTrust(caPEM: nil, caBundleFile: "/etc/ssl/certs/ca-certificates.crt", verifyChain: true)
        let first = try cache.context(for: unverified)
        #expect(try cache.context(for: unverified) === first)
        let verified = try cache.context(for: system)
        #expect(verified !== first)
        // A third configuration pushes out the least recently used (the unverified one).
        _ = try cache.context(for: TLSTrust(caPEM: nil, caBundleFile: nil, verifyChain: true))
        #expect(try cache.context(for: system) === verified)
        #expect(try cache.context(for: unverified) !== first)
    }

    @Test func caTextWithoutACertificateIsRefused() {
        let trust = TLSTrust(caPEM: Array("not a certificate".utf8), caBundleFile: nil, verifyChain: true)
        #expect(throws: TLSContextError.self) { _ = try TLSContextCache(capacity: 1).context(for: trust) }
    }
}
