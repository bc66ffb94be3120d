import ConnectorCore
import Foundation

/// The signed JWT a Google service account exchanges for an access token (RFC 7523).
public enum ServiceAccountAssertion {
    /// Valid for an hour from `now`.
    public static func make(
        account: GoogleServiceAccount, scope: String, audience: String, now: Date = Date()
    ) throws(RS256JWT.KeyError) -> String {
        let issuedAt = Double(Int64(now.timeIntervalSince1970))
        let claims: JSONValue = [
            "iss": .string(account.clientEmail), "scope": .string(scope), "aud": .string(audience),
            "iat": .number(issuedAt), "exp": .number(issuedAt + 3600),
        ]
        return try RS256JWT.sign(claims: claims, keyID: account.privateKeyID, privateKeyPEM: account.privateKeyPEM)
    }
}
