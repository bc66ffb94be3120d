import ConnectorCore
import Crypto
import Foundation
import SwiftASN1
import Testing
import X509

@testable import Probes

/// Issue 8 §3: CA texts are parsed and capped, and the files written for them stay bounded.
@Suite struct TrustStoreTests {
    static let key = P256.Signing.PrivateKey()

    /// A self-signed CA certificate, distinct for each `serial`.
    static func certificatePEM(_ serial: Int) throws -> String {
        let name = try DistinguishedName { CommonName("connector-engine test CA \(serial)") }
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(bytes: Array(withUnsafeBytes(of: UInt64(serial + 1).bigEndian) { Array($0) })),
            publicKey: Certificate.PublicKey(key.publicKey), notValidBefore: now, notValidAfter: now.addingTimeInterval(3600),
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256, extensions: Certificate.Extensions(),
            issuerPrivateKey: Certificate.PrivateKey(key))
        return try certificate.serializeAsPEM().pemString
    }

    @Test func theSameCertificatesAreOneSetHoweverTheyAreWrapped() throws {
        let pem = try Self.certificatePEM(1)
        let flat = pem.replacingOccurrences(of: "\n", with: " ")
        let a = try TrustAnchors(pem: pem, field: "ssl_ca")
        let b = try TrustAnchors(pem: "# a comment\n" + flat, field: "ssl_ca")
        #expect(a == b)
        #expect(a.pemText.split(separator: "\n").allSatisfy { $0.count <= 64 })
        let two = try TrustAnchors(pem: pem + (try Self.certificatePEM(2)), field: "ssl_ca")
        #expect(two.certificates.count == 2)
        #expect(two.digest != a.digest)
    }

    @Test(arguments: [
        "-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE-----\n",  // base64 of "ABC": not a certificate
        "-----BEGIN PRIVATE KEY-----\nQUJD\n-----END PRIVATE KEY-----\n",
        "no PEM here",
        "-----BEGIN CERTIFICATE-----\nQUJD\n",
    ])
    func onlyCertificatesAreAccepted(text: String) {
        #expect(throws: MetadataError.self) { try TrustAnchors(pem: text, field: "sslrootcert") }
        let error = try? #require(throws: MetadataError.self) { try TrustAnchors(pem: text, field: "sslrootcert") }
        #expect(error?.attr == "sslrootcert")
    }

    @Test func aTextOver64KiBIsRefused() throws {
        let pem = try Self.certificatePEM(3)
        let padded = pem + String(repeating: "#", count: TrustAnchors.maxTextBytes - pem.utf8.count + 1)
        let error = try #require(throws: MetadataError.self) { try TrustAnchors(pem: padded, field: "ssl_ca") }
        #expect(error.attr == "ssl_ca")
        _ = try TrustAnchors(pem: String(padded.dropLast()), field: "ssl_ca")
    }

    @Test func fiveThousandDistinctTextsLeaveAtMostTheBoundOnDisk() throws {
        let store = TrustStore(keptUnused: 16)
        defer { store.removeFiles() }
        var directory: String?
        for serial in 0..<5000 {
            let anchors = try TrustAnchors(pem: try Self.certificatePEM(serial), field: "ssl_ca")
            let file = try store.file(for: anchors, field: "ssl_ca")
            #expect(FileManager.default.fileExists(atPath: file.path))
            directory = URL(fileURLWithPath: file.path).deletingLastPathComponent().path
        }
        #expect(store.fileCount == 16)
        let onDisk = try FileManager.default.contentsOfDirectory(atPath: try #require(directory))
        #expect(onDisk.count == 16)
    }

    @Test func aFileAProbeHoldsIsNeverEvictedAndOneSetIsOneFile() throws {
        let store = TrustStore(keptUnused: 2)
        defer { store.removeFiles() }
        let sets = try (0..<6).map { try TrustAnchors(pem: try Self.certificatePEM(100 + $0), field: "ssl_ca") }
        var held = try sets.map { try store.file(for: $0, field: "ssl_ca") }
        let again = try store.file(for: sets[0], field: "ssl_ca")
        #expect(again.path == held[0].path)
        #expect(store.fileCount == 6)
        #expect(held.allSatisfy { FileManager.default.fileExists(atPath: $0.path) })
        let paths = held.map(\.path)
        held.removeAll()
        // The set still held plus the two most recently used of the others.
        #expect(store.fileCount == 3)
        #expect(FileManager.default.fileExists(atPath: again.path))
        #expect(paths.map { FileManager.default.fileExists(atPath: $0) } == [true, false, false, false, true, true])
    }
}
