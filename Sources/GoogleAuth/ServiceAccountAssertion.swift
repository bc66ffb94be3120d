import ConnectorCore
import Crypto
import CryptoExtras
import Foundation

/// The signed JWT a service account exchanges for an access token (RFC 7523, RS256).
public enum ServiceAccountAssertion {
    /// Why an assertion could not be made: the key does not parse as an RSA key.
    public struct KeyError: Error, Sendable {}

    /// `base64url(header).base64url(claims).base64url(signature)`; valid for an hour from `now`.
    public static func make(
        account: GoogleServiceAccount, scope: String, audience: String, now: Date = Date()
    ) throws(KeyError) -> String {
        let key: _RSA.Signing.PrivateKey
        do {
            key = try _RSA.Signing.PrivateKey(pemRepresentation: account.privateKeyPEM)
        } catch {
            throw KeyError()
        }
        var header: [String: JSONValue] = ["alg": "RS256", "typ": "JWT"]
        if let id = account.privateKeyID { header["kid"] = .string(id) }
        let issuedAt = Double(Int64(now.timeIntervalSince1970))
        let claims: JSONValue = [
            "iss": .string(account.clientEmail), "scope": .string(scope), "aud": .string(audience),
            "iat": .number(issuedAt), "exp": .number(issuedAt + 3600),
        ]
        let signingInput = base64URL(JSONValue.object(header).serialized()) + "." + base64URL(claims.serialized())
        guard let signature = try? key.signature(for: Data(signingInput.utf8), padding: .insecurePKCS1v1_5) else {
            throw KeyError()
        }
        return signingInput + "." + base64URL(Array(signature.rawRepresentation))
    }

    /// Base64url without padding.
    public static func base64URL(_ bytes: some Sequence<UInt8>) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
