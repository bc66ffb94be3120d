import Crypto
import Foundation
import SwiftASN1
import X509

/// The CA certificates a connector trusts (`sslrootcert`, `ssl_ca`), parsed when the metadata is
/// read: only certificates, from at most 64 KiB of text, ever reach a driver's file, and two texts
/// that hold the same certificates are one set.
public struct TrustAnchors: Sendable, Hashable {
    /// The longest PEM text accepted.
    public static let maxTextBytes = 64 * 1024

    /// The certificates, DER-encoded, in the order given.
    public let certificates: [[UInt8]]
    /// SHA-256 over the DER certificates: the identity of the set.
    public let digest: [UInt8]

    /// Parses PEM text: every `-----BEGIN …-----` block must be a certificate that parses as X.509
    /// (text between blocks is ignored, as OpenSSL ignores it). Line breaks lost when a
    /// certificate is pasted into a one-line form field do not matter.
    /// - Throws: ``MetadataError`` naming `field` for anything else.
    public init(pem text: String, field: String) throws(MetadataError) {
        guard text.utf8.count <= Self.maxTextBytes else {
            throw MetadataError(attr: field, "'\(field)' is longer than 64 KiB; send only the CA certificates to trust.")
        }
        var certificates: [[UInt8]] = []
        var rest = Substring(text)
        while let begin = rest.range(of: "-----BEGIN ") {
            guard let labelEnd = rest[begin.upperBound...].range(of: "-----") else { break }
            let label = rest[begin.upperBound..<labelEnd.lowerBound]
            guard label == "CERTIFICATE" else {
                throw MetadataError(attr: field, "'\(field)' may hold only certificates, not \(label.prefix(32)).")
            }
            guard let end = rest[labelEnd.upperBound...].range(of: "-----END CERTIFICATE-----") else {
                throw MetadataError(attr: field, "'\(field)' has a certificate without its END line.")
            }
            let body = rest[labelEnd.upperBound..<end.lowerBound].filter { !$0.isWhitespace }
            guard let data = Data(base64Encoded: String(body)), case let der = Array(data), (try? Certificate(derEncoded: der)) != nil else {
                throw MetadataError(attr: field, "'\(field)' holds a certificate that does not parse.")
            }
            certificates.append(der)
            rest = rest[end.upperBound...]
        }
        guard !certificates.isEmpty else {
            throw MetadataError(attr: field, "'\(field)' must hold PEM certificate text (-----BEGIN CERTIFICATE-----).")
        }
        self.certificates = certificates
        var hash = SHA256()
        for certificate in certificates { hash.update(data: certificate) }
        self.digest = Array(hash.finalize())
    }

    /// The certificates as PEM text (64-column lines), for drivers that read a file.
    public var pemText: String {
        certificates.map { der in
            var lines = "-----BEGIN CERTIFICATE-----\n"
            var encoded = Substring(Data(der).base64EncodedString())
            while !encoded.isEmpty {
                lines += encoded.prefix(64) + "\n"
                encoded = encoded.dropFirst(64)
            }
            return lines + "-----END CERTIFICATE-----\n"
        }.joined()
    }
}
