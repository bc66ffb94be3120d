import ConnectorCore
import Foundation
import OAuthFlow
import Testing

@Suite struct PKCETests {
    /// Expected challenge computed independently (Python's hashlib and base64.urlsafe_b64encode).
    @Test func theChallengeIsBase64URLOfSHA256WithoutPadding() {
        #expect(PKCE(verifier: "dBjftJeZ4CVP-mJ92K1ucrA4fMGcFmMD-GQsEHqRIcU").challenge == "acTw8DaQFZ4asxd8mu8tgVMLeZLNOUk7oOnE9hXMwQU")
    }

    @Test func generatedVerifiersAreUnreservedFreshAndLongEnough() {
        let unreserved = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        let verifiers = (0..<100).map { _ in PKCE.generate().verifier }
        #expect(verifiers.allSatisfy { (43...128).contains($0.count) && $0.allSatisfy(unreserved.contains) })
        #expect(Set(verifiers).count == 100)
    }
}

@Suite struct OAuthCacheKeyTests {
    @Test func aKeyRoundTripsInUnstractsFormat() throws {
        let nonce = UUID()
        let key = OAuthCacheKey(organization: "acme", userID: 42, backend: .google, nonce: nonce)
        #expect(key.description == "oauth:acme|42|google-oauth2|\(nonce.uuidString.lowercased())")
        #expect(OAuthCacheKey(key.description) == key)
    }

    @Test(arguments: [
        "acme|42|google-oauth2|6f1c1e3a-2b4d-4c5e-8f90-1a2b3c4d5e6f",  // no prefix
        "oauth:acme|42|google-oauth2",  // three parts
        "oauth:acme|42|google-oauth2|6f1c1e3a-2b4d-4c5e-8f90-1a2b3c4d5e6f|x",  // five
        "oauth:|42|google-oauth2|6f1c1e3a-2b4d-4c5e-8f90-1a2b3c4d5e6f",  // no organization
        "oauth:acme|042|google-oauth2|6f1c1e3a-2b4d-4c5e-8f90-1a2b3c4d5e6f",  // not the canonical user id
        "oauth:acme|me|google-oauth2|6f1c1e3a-2b4d-4c5e-8f90-1a2b3c4d5e6f",
        "oauth:acme|42|github|6f1c1e3a-2b4d-4c5e-8f90-1a2b3c4d5e6f",  // unknown backend
        "oauth:acme|42|google-oauth2|6F1C1E3A-2B4D-4C5E-8F90-1A2B3C4D5E6F",  // not as issued
        "oauth:acme|42|google-oauth2|not-a-uuid",
    ])
    func anythingElseIsNotAKey(text: String) {
        #expect(OAuthCacheKey(text) == nil)
    }
}

@Suite struct AuthorizationURLTests {
    static func parameters(_ url: String) throws -> [String: String] {
        let items = try #require(URLComponents(string: url)?.queryItems)
        return Dictionary(items.map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { first, _ in first })
    }

    @Test func googleAsksForOfflineAccessWithPKCEAndTheDriveScopes() throws {
        let provider = OAuthProvider.standard(.google, clientID: "client-1", clientSecret: "never-in-a-url")
        let pkce = PKCE.generate()
        let url = provider.authorizationURL(redirectURI: "https://engine.example/api/v1/oauth/complete/google-oauth2/", state: "s-1", pkce: pkce)
        #expect(url.hasPrefix("https://accounts.google.com/o/oauth2/v2/auth?"))
        let query = try Self.parameters(url)
        #expect(query["client_id"] == "client-1" && query["response_type"] == "code" && query["state"] == "s-1")
        #expect(query["redirect_uri"] == "https://engine.example/api/v1/oauth/complete/google-oauth2/")
        #expect(query["code_challenge"] == pkce.challenge && query["code_challenge_method"] == "S256")
        #expect(query["access_type"] == "offline" && query["prompt"] == "consent")
        #expect(query["scope"]?.split(separator: " ").count == 2)
        #expect(!url.contains("never-in-a-url") && !url.contains(pkce.verifier))
    }

    @Test func dropboxAsksForARefreshToken() throws {
        let provider = OAuthProvider(
            backend: .dropbox, authorizeURL: "http://127.0.0.1:9/oauth2/authorize", tokenURL: "http://127.0.0.1:9/oauth2/token",
            clientID: "app-key", clientSecret: "app-secret")
        let query = try Self.parameters(provider.authorizationURL(redirectURI: "http://127.0.0.1/cb", state: "s", pkce: PKCE.generate()))
        #expect(query["token_access_type"] == "offline")
        #expect(query["scope"] == nil && query["access_type"] == nil)
    }
}
