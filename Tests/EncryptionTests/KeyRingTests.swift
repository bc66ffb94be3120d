import Encryption
import Foundation
import LinuxIO
import Testing

@Suite struct KeyRingTests {
    let first = try! EncryptionKey.generate(id: "k1")
    let second = try! EncryptionKey.generate(id: "k2")
    let secret = Data("password=Canary-7f3a".utf8)

    @Test func roundTripAndKeyIDInTheCiphertext() throws {
        let ring = try KeyRing(primary: first)
        let sealed = try ring.seal(secret, context: "org-1/conn-1")
        #expect(ring.keyID(of: sealed) == "k1")
        #expect(sealed.range(of: Data("Canary".utf8)) == nil)
        #expect(try ring.open(sealed, context: "org-1/conn-1") == secret)
        #expect(try ring.seal(secret, context: "org-1/conn-1") != sealed, "every seal uses a fresh nonce")
    }

    @Test func associatedDataBindsTheRow() throws {
        let ring = try KeyRing(primary: first)
        let sealed = try ring.seal(secret, context: "org-1/conn-1")
        #expect(throws: KeyRingError.self) { try ring.open(sealed, context: "org-1/conn-2") }
        #expect(throws: KeyRingError.self) { try ring.open(sealed, context: "org-2/conn-1") }
    }

    @Test func tamperingIsDetected() throws {
        let ring = try KeyRing(primary: first)
        var sealed = try ring.seal(secret, context: "c")
        sealed[sealed.count - 20] ^= 0x01
        #expect(throws: KeyRingError.self) { try ring.open(sealed, context: "c") }
        #expect(throws: KeyRingError.self) { try ring.open(Data("plain text".utf8), context: "c") }
    }

    @Test func rotationKeepsOldValuesReadable() throws {
        let old = try KeyRing(primary: first)
        let sealedByOld = try old.seal(secret, context: "c")
        let rotated = try KeyRing(primary: second, others: [first])
        #expect(try rotated.open(sealedByOld, context: "c") == secret)
        #expect(!rotated.isSealedWithPrimary(sealedByOld))
        let resealed = try rotated.seal(try rotated.open(sealedByOld, context: "c"), context: "c")
        #expect(rotated.isSealedWithPrimary(resealed))
        let withoutOld = try KeyRing(primary: second)
        let missing = #expect(throws: KeyRingError.self, "a missing key must not open") { try withoutOld.open(sealedByOld, context: "c") }
        #expect(missing?.description.contains("'k1'") == true)
    }

    @Test func wrongKeyWithTheSameIDIsAClearError() throws {
        let sealed = try KeyRing(primary: first).seal(secret, context: "c")
        let impostor = try KeyRing(primary: try EncryptionKey.generate(id: "k1"))
        let refused = #expect(throws: KeyRingError.self, "another key must not open") { try impostor.open(sealed, context: "c") }
        #expect(refused?.description.contains("does not authenticate") == true)
    }

    @Test func parsingNamesTheBadEntryWithoutItsKey() throws {
        let ring = try KeyRingSource.parse("# comment\n\(second.specification)\n\(first.specification)\n", origin: "test")
        #expect(ring.primary.id == "k2")
        #expect(ring.keyIDs == ["k2", "k1"])
        #expect(throws: KeyRingError.self) { try KeyRingSource.parse("k1:not base64!", origin: "test") }
        #expect(throws: KeyRingError.self) { try KeyRingSource.parse("k1:\(Data([1, 2, 3]).base64EncodedString())", origin: "test") }
        #expect(throws: KeyRingError.self) { try KeyRingSource.parse("\(first.specification),\(first.specification)", origin: "test") }
        #expect(throws: KeyRingError.self) { try KeyRingSource.parse("", origin: "test") }
    }
}

@Suite struct KeyRingSourceTests {
    private func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("keyring-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func developmentGeneratesAPrivateKeyFileOnceAndReusesIt() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("keys").path
        let (ring, origin) = try KeyRingSource.load(environment: [:], keyFile: path, production: false)
        #expect(origin == .generated(path))
        #expect(SecureFile.permissions(of: path) == 0o600)
        let (again, secondOrigin) = try KeyRingSource.load(environment: [:], keyFile: path, production: false)
        #expect(secondOrigin == .file(path))
        #expect(again.primary.id == ring.primary.id)
        let sealed = try ring.seal(Data("x".utf8), context: "c")
        #expect(try again.open(sealed, context: "c") == Data("x".utf8))
    }

    @Test func productionNeverGenerates() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("keys").path
        #expect(throws: KeyRingError.self) { try KeyRingSource.load(environment: [:], keyFile: path, production: true) }
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func environmentWinsOverTheFile() throws {
        let key = try EncryptionKey.generate(id: "env")
        let (ring, origin) = try KeyRingSource.load(
            environment: [KeyRingSource.environmentVariable: key.specification], keyFile: "/nonexistent/keys", production: true)
        #expect(origin == .environment)
        #expect(ring.primary.id == "env")
    }

    @Test func keyFileReadableByOthersIsRefused() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("keys").path
        try (try EncryptionKey.generate(id: "k").specification).write(toFile: path, atomically: false, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        #expect(throws: KeyRingError.self) { try KeyRingSource.load(environment: [:], keyFile: path, production: false) }
    }
}
