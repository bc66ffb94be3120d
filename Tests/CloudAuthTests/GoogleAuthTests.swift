import CloudAuth
import ConnectorCore
import CryptoExtras
import Foundation
import Glibc
import LinuxIO
import TestProcesses
import Testing

@Suite struct ServiceAccountAssertionTests {
    static let key = try! _RSA.Signing.PrivateKey(keySize: .bits2048)

    static func keyFile(_ key: _RSA.Signing.PrivateKey = key) -> String {
        let file: JSONValue = [
            "type": "service_account", "project_id": "p", "private_key_id": "kid-1", "private_key": .string(key.pkcs8PEMRepresentation),
            "client_email": "probe@p.iam.gserviceaccount.com", "token_uri": "https://oauth2.googleapis.com/token",
        ]
        return String(decoding: file.serialized(), as: UTF8.self)
    }

    static func decode(_ part: Substring) -> Data? {
        var text = part.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while text.count % 4 != 0 { text += "=" }
        return Data(base64Encoded: text)
    }

    @Test func isAnRS256JWTWithGooglesClaimsThatVerifiesWithThePublicKey() throws {
        let account = try GoogleServiceAccount(json: Self.keyFile())
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let jwt = try ServiceAccountAssertion.make(account: account, scope: "s1 s2", audience: "https://t.example/token", now: now)
        let parts = jwt.split(separator: ".")
        #expect(parts.count == 3)
        let header = try JSONValue.parse(try #require(Self.decode(parts[0])))
        let claims = try JSONValue.parse(try #require(Self.decode(parts[1])))
        #expect(header == ["alg": "RS256", "typ": "JWT", "kid": "kid-1"])
        #expect(claims["iss"] == "probe@p.iam.gserviceaccount.com" && claims["aud"] == "https://t.example/token")
        #expect(claims["scope"] == "s1 s2" && claims["iat"] == 1_800_000_000 && claims["exp"] == 1_800_003_600)
        let signature = _RSA.Signing.RSASignature(rawRepresentation: try #require(Self.decode(parts[2])))
        let input = Data((parts[0] + "." + parts[1]).utf8)
        #expect(Self.key.publicKey.isValidSignature(signature, for: input, padding: .insecurePKCS1v1_5))
        let other = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        #expect(!other.publicKey.isValidSignature(signature, for: input, padding: .insecurePKCS1v1_5))
    }

    @Test func keyFilesThatAreNotServiceAccountsNameTheField() {
        for text in ["not json", #"{"type": "authorized_user"}"#, #"{"type": "service_account", "client_email": "a@b"}"#] {
            do {
                _ = try GoogleServiceAccount(json: text)
                Issue.record("accepted \(text)")
            } catch {
                #expect(error.attr == "json_credentials")
                #expect(!error.detail.contains("BEGIN"))
            }
        }
        #expect(throws: Never.self) { _ = try GoogleServiceAccount(json: Self.keyFile()) }
    }
}

@Suite struct TokenCacheTests {
    static let key = TokenCache.Key(account: "a@p", keyID: "k", publicKeyDigest: [1], tenant: "t", scope: "s", tokenURL: "u")

    static func readable(_ fd: Int32) -> Bool {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, 0) == 1
    }

    @Test func concurrentClaimsForOneAccountWaitForOneFetch() {
        let cache = TokenCache()
        guard case .fetch = cache.claim(Self.key) else { Issue.record("first claim must fetch"); return }
        guard case .wait(let first) = cache.claim(Self.key), case .wait(let second) = cache.claim(Self.key) else {
            Issue.record("later claims must wait")
            return
        }
        #expect(!Self.readable(first.descriptor))
        cache.finish(Self.key, token: "t-1", expiresIn: 3600)
        #expect(Self.readable(first.descriptor) && Self.readable(second.descriptor))
        guard case .token(let token) = cache.claim(Self.key) else { Issue.record("no token after the fetch"); return }
        #expect(token == "t-1")
        #expect(cache.fetches == 1)
        // Another account fetches on its own.
        guard case .fetch = cache.claim(TokenCache.Key(account: "b@p", keyID: "k", publicKeyDigest: [1], tenant: "t", scope: "s", tokenURL: "u"))
        else {
            Issue.record("another account must fetch")
            return
        }
        #expect(cache.fetches == 2)
    }

    @Test func aFailedFetchWakesWaitersAndLetsTheNextClaimFetch() {
        let cache = TokenCache()
        guard case .fetch = cache.claim(Self.key), case .wait(let waiter) = cache.claim(Self.key) else {
            Issue.record("unexpected claims")
            return
        }
        cache.finish(Self.key, token: nil, expiresIn: 0)
        #expect(Self.readable(waiter.descriptor))
        guard case .fetch = cache.claim(Self.key) else { Issue.record("must fetch again after a failure"); return }
    }

    @Test func aTokenCloseToExpiryIsNotReused() {
        let cache = TokenCache(margin: .seconds(60))
        guard case .fetch = cache.claim(Self.key) else { return }
        cache.finish(Self.key, token: "short", expiresIn: 30)
        guard case .fetch = cache.claim(Self.key) else { Issue.record("a token expiring within the margin was reused"); return }
    }
}

@Suite struct SnowflakeFingerprintTests {
    /// Our fingerprint equals the one Snowflake documents: openssl's SHA-256 of the DER public key.
    @Test func matchesOpenSSL() throws {
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let keyFile = folder.appendingPathComponent("key.pem")
        try key.pkcs8PEMRepresentation.write(to: keyFile, atomically: true, encoding: .utf8)
        let (status, text) = try ChildProcess.run(
            "/bin/sh", ["-c", "openssl pkey -in '\(keyFile.path)' -pubout -outform DER | openssl dgst -sha256 -binary | openssl enc -base64"])
        let output = text.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(status == 0)
        #expect(output.count == 44)
        #expect(try RS256JWT.publicKeyFingerprint(privateKeyPEM: key.pkcs8PEMRepresentation) == "SHA256:" + output)
    }
}
