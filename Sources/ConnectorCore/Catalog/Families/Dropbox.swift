extension ConnectorFamily {
    public static let dropbox = ConnectorFamily(rawValue: "dropbox")
}

extension ConnectorType {
    /// Dropbox: tokens from signing in with Dropbox (not shown in the form), or a pasted token
    /// with what refreshes it.
    public static let dropbox = ConnectorType(
        id: "dropbox|db6bf4a6-f892-4d25-8652-2bf251946134", name: "Dropbox", description: "Access files in your Dropbox storage",
        icon: "/icons/connector-icons/Dropbox.png", docPath: "filesystems/dropbox_filesystem/", mode: .fileSystem, family: .dropbox,
        oauthBackend: "dropbox-oauth2",
        schema: FormSchema.form(
            title: "Dropbox",
            description:
                "Files in a Dropbox account: sign in with Dropbox (the tokens are kept and refreshed for you), or paste an access token from your Dropbox app. Short-lived access tokens expire after a few hours; with a pasted token, add a refresh token and the app's key (and secret) so a fresh access token can be obtained automatically.",
            required: ["connectorName"],
            properties: [
                "connectorName": FormSchema.connectorName(default: "Unstract's Dropbox connector"),
                "token": FormSchema.secret(
                    "Access Token",
                    description:
                        "Not needed after signing in with Dropbox. An access token generated for your app in the Dropbox App Console. See [Dropbox's guide](https://dropbox.tech/developers/generate-an-access-token-for-your-own-account)."
                ),
                "refresh_token": FormSchema.secret(
                    "Refresh Token",
                    description:
                        "Optional. A long-lived refresh token (offline access) used to renew the access token when it expires; needs App key."
                ),
                "app_key": FormSchema.text("App Key", description: "Optional. The key of the Dropbox app that issued the refresh token."),
                "app_secret": FormSchema.secret(
                    "App Secret",
                    description: "Optional. The secret of that Dropbox app; not needed when the refresh token came from a PKCE flow."),
            ]),
        hiddenSecretFields: ["access_token"])
}
