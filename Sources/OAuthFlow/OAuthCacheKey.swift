import Foundation

/// The key of one OAuth flow's token cache entry, in Unstract's format
/// `oauth:<org_id>|<user_id>|<backend>|<uuid4>`: it names who started the flow, so a key used by
/// another user or organization is refused without touching the entry.
public struct OAuthCacheKey: Sendable, Hashable, CustomStringConvertible {
    public let organization: String
    public let userID: Int64
    public let backend: OAuthBackend
    public let nonce: UUID

    public init(organization: String, userID: Int64, backend: OAuthBackend, nonce: UUID = UUID()) {
        self.organization = organization
        self.userID = userID
        self.backend = backend
        self.nonce = nonce
    }

    /// Parses a key as the API receives it; `nil` for anything not of the exact format.
    public init?(_ text: String) {
        guard text.hasPrefix("oauth:") else { return nil }
        let parts = text.dropFirst("oauth:".count).split(separator: "|", omittingEmptySubsequences: false)
        guard parts.count == 4, !parts[0].isEmpty, parts[0].count <= 64, !parts[0].contains(where: { $0.isWhitespace }),
            let user = Int64(parts[1]), String(user) == parts[1], let backend = OAuthBackend(rawValue: String(parts[2])),
            parts[3].count == 36, let nonce = UUID(uuidString: String(parts[3])), nonce.uuidString.lowercased() == parts[3]
        else { return nil }
        self.init(organization: String(parts[0]), userID: user, backend: backend, nonce: nonce)
    }

    public var description: String {
        "oauth:\(organization)|\(userID)|\(backend.rawValue)|\(nonce.uuidString.lowercased())"
    }
}
