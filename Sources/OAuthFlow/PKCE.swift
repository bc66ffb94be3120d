import ConnectorCore
import Crypto

/// A PKCE pair (RFC 7636): the verifier the engine keeps, the S256 challenge the browser carries.
public struct PKCE: Sendable, Equatable {
    /// 43 characters of base64url over 32 random bytes (within RFC 7636's 43–128 unreserved).
    public let verifier: String

    public init(verifier: String) {
        self.verifier = verifier
    }

    /// A fresh pair from the system's secure random source.
    public static func generate() -> PKCE {
        PKCE(verifier: OAuthRandom.token())
    }

    /// `BASE64URL(SHA256(ASCII(verifier)))` without padding.
    public var challenge: String {
        Base64URL.encode(SHA256.hash(data: Array(verifier.utf8)))
    }
}

/// Unguessable tokens for `state` and PKCE verifiers.
public enum OAuthRandom {
    /// base64url of 32 bytes from the system's secure random source (43 characters).
    public static func token() -> String {
        var generator = SystemRandomNumberGenerator()
        return Base64URL.encode((0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
    }
}
