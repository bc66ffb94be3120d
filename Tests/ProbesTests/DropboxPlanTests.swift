import ConnectorCore
import ProbeEngine
import Testing

@testable import Probes

/// Which Dropbox app refreshes a connector's token: its own (`app_key`), else the platform's.
@Suite struct DropboxPlanTests {
    static let type = Catalog.builtin.type(id: "dropbox|db6bf4a6-f892-4d25-8652-2bf251946134")!
    static let signedIn: JSONValue = ["access_token": "sl.a", "refresh_token": "r"]

    @Test func aRefreshTokenNeedsAnAppWhenThePlatformHasNone() throws {
        do {
            _ = try DropboxProbeDriver(endpoints: .dropbox).plan(for: Self.type, metadata: Self.signedIn, tenant: "")
            Issue.record("planned without any app to refresh with")
        } catch {
            #expect(error.attr == "app_key")
        }
    }

    @Test func theTokensOfASignInAreRefreshedWithThePlatformsApp() throws {
        let endpoints = DropboxEndpoints(oauthClient: ("platform-key", "platform-secret"))
        let plan = try DropboxProbeDriver(endpoints: endpoints).plan(for: Self.type, metadata: Self.signedIn, tenant: "")
        #expect(plan.hostAttr == "token")
    }

    @Test func nothingToCallWithIsInvalid() {
        do {
            _ = try DropboxProbeDriver(endpoints: .dropbox).plan(for: Self.type, metadata: ["connectorName": "x"], tenant: "")
            Issue.record("planned without a token")
        } catch {
            #expect(error.attr == "token")
        }
    }
}
