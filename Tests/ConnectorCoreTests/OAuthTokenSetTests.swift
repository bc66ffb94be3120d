import ConnectorCore
import Foundation
import Testing

/// What a token endpoint's answer becomes, and how a refresh keeps the refresh token's age.
@Suite struct OAuthTokenSetTests {
    static let granted = Date(timeIntervalSince1970: 1_900_000_000)

    @Test func aGrantWithARefreshTokenRecordsWhenItWasIssued() throws {
        let tokens = try #require(
            OAuthTokenSet(grant: ["access_token": "a1", "refresh_token": "r1", "expires_in": 3599], issuedAt: Self.granted))
        #expect(tokens.refreshToken == "r1")
        #expect(tokens.refreshTokenIssuedAt == Self.granted)
        #expect(tokens.fields["refresh_token_issued_at"] == .number(1_900_000_000))
    }

    @Test func aRefreshWithoutANewRefreshTokenKeepsTheOldOneAndItsAge() throws {
        let first = try #require(OAuthTokenSet(grant: ["access_token": "a1", "refresh_token": "r1"], issuedAt: Self.granted))
        let later = Self.granted.addingTimeInterval(86_400)
        let refreshed = try #require(OAuthTokenSet(grant: ["access_token": "a2", "expires_in": 3599], issuedAt: later, keeping: first))
        #expect(refreshed.accessToken == "a2" && refreshed.refreshToken == "r1")
        #expect(refreshed.refreshTokenIssuedAt == Self.granted)
        #expect(refreshed.expiresAt == later.addingTimeInterval(3599))
        // A rotated refresh token starts its age again.
        let rotated = try #require(
            OAuthTokenSet(grant: ["access_token": "a3", "refresh_token": "r2"], issuedAt: later, keeping: first))
        #expect(rotated.refreshToken == "r2" && rotated.refreshTokenIssuedAt == later)
    }

    @Test func storedMetadataKeepsTheAgeAndUnknownAgeIsNil() {
        let stored = OAuthTokenSet(metadata: ["access_token": "a", "refresh_token": "r", "refresh_token_issued_at": 1_900_000_000, "path": "x"])
        #expect(stored.refreshTokenIssuedAt == Self.granted && stored.fields["path"] == nil)
        #expect(OAuthTokenSet(metadata: ["refresh_token": "r"]).refreshTokenIssuedAt == nil)
        #expect(OAuthTokenSet(metadata: ["refresh_token": "r", "refresh_token_issued_at": "soon"]).refreshTokenIssuedAt == nil)
        // A refresh of tokens stored without an age does not invent one.
        let refreshed = OAuthTokenSet(grant: ["access_token": "a2"], issuedAt: Self.granted, keeping: OAuthTokenSet(metadata: ["refresh_token": "r"]))
        #expect(refreshed?.refreshToken == "r" && refreshed?.refreshTokenIssuedAt == nil)
    }
}
