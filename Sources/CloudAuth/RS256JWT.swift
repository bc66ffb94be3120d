import ConnectorCore
import Crypto
import CryptoExtras
import Foundation

/// A JSON Web Token signed with RS256 (RSASSA-PKCS1-v1_5 over SHA-256), the form both Google's
/// service-account assertions and Snowflake's key-pair login use.
public enum RS256JWT {
    /// Why a token could not be made: the key does not parse as an RSA private key.
    public struct KeyError: Error, Sendable {}

    /// `base64url(header).base64url(claims).base64url(signature)`.
    public static func sign(claims: JSONValue, keyID: String? = nil, privateKeyPEM: String) throws(KeyError) -> String {
        let key = try privateKey(privateKeyPEM)
        var header: [String: JSONValue] = ["alg": "RS256", "typ": "JWT"]
        if let keyID { header["kid"] = .string(keyID) }
        let signingInput = Base64URL.encode(JSONValue.object(header).serialized()) + "." + Base64URL.encode(claims.serialized())
        guard let signature = try? key.signature(for: Data(signingInput.utf8), padding: .insecurePKCS1v1_5) else {
            throw KeyError()
        }
        return signingInput + "." + Base64URL.encode(Array(signature.rawRepresentation))
    }

    /// `SHA256:` + standard base64 of SHA-256 over the public key's DER SubjectPublicKeyInfo (the
    /// fingerprint Snowflake registers for a user's key).
    public static func publicKeyFingerprint(privateKeyPEM: String) throws(KeyError) -> String {
        "SHA256:" + Data(try publicKeyDigest(privateKeyPEM: privateKeyPEM)).base64EncodedString()
    }

    /// SHA-256 over the DER SubjectPublicKeyInfo of the key `privateKeyPEM` holds: who holds the
    /// private key, as a cache can tell without signing anything.
    public static func publicKeyDigest(privateKeyPEM: String) throws(KeyError) -> [UInt8] {
        Array(SHA256.hash(data: try privateKey(privateKeyPEM).publicKey.derRepresentation))
    }

    /// Whether `pem` parses as an RSA private key (checked when a probe is planned; no signing).
    public static func isUsableKey(_ pem: String) -> Bool { (try? privateKey(pem)) != nil }

    static func privateKey(_ pem: String) throws(KeyError) -> _RSA.Signing.PrivateKey {
        do {
            return try _RSA.Signing.PrivateKey(pemRepresentation: pem)
        } catch {
            throw KeyError()
        }
    }
}
