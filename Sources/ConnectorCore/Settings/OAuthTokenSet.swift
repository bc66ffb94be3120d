import Foundation

/// The OAuth token fields a connector keeps (Unstract's `OAUTH_TOKEN_KEYS`): what a token
/// endpoint's answer becomes, what an OAuth cache entry holds and what is merged into a
/// connector's metadata. Only these keys move between a flow and a connector, so fields such as
/// a form's folder never leak from one to another. Token values are secrets. One key is ours:
/// `refresh_token_issued_at`, when the refresh token was granted (a refresh keeps it), so a
/// provider's limit on a refresh token's age can be warned about.
public struct OAuthTokenSet: Sendable, Equatable, CustomStringConvertible {
    /// The whitelisted keys, in Unstract's spelling, and ours.
    public static let keys: Set<String> = [
        "access_token", "refresh_token", "token_type", "expires", "expires_in", "scope", "auth_time", "refresh_after",
        "refresh_token_issued_at",
    ]
    /// The longest lifetime an access token is believed to have: a day, whatever `expires_in` says.
    public static let longestLifetime = 86_400

    public private(set) var fields: [String: JSONValue]

    /// The whitelisted members of `metadata` (nothing else is taken).
    public init(metadata: JSONValue) {
        guard case .object(let members) = metadata else {
            fields = [:]
            return
        }
        fields = members.filter { Self.keys.contains($0.key) }
    }

    /// A token endpoint's 200 answer (RFC 6749 §5.1) as the fields to keep; `nil` when it holds no
    /// access token. A refresh that brings no new refresh token keeps the one of `previous`, with
    /// the time it was issued.
    public init?(grant: JSONValue, issuedAt: Date, keeping previous: OAuthTokenSet? = nil) {
        guard let access = grant["access_token"]?.stringValue, !access.isEmpty else { return nil }
        let lifetime = Self.lifetime(grant["expires_in"])
        let authTime = Int64(issuedAt.timeIntervalSince1970)
        var fields: [String: JSONValue] = [
            "access_token": .string(access), "token_type": .string(grant["token_type"]?.stringValue ?? "Bearer"),
            "expires_in": .number(Double(lifetime)), "expires": .number(Double(lifetime)),
            "auth_time": .number(Double(authTime)),
            "refresh_after": .string(Self.unstractDate(authTime + Int64(lifetime))),
        ]
        if let scope = grant["scope"]?.stringValue { fields["scope"] = .string(scope) }
        if let refresh = grant["refresh_token"]?.stringValue, !refresh.isEmpty {
            fields["refresh_token"] = .string(refresh)
            fields["refresh_token_issued_at"] = .number(Double(authTime))
        } else if let previous, let refresh = previous.refreshToken, !refresh.isEmpty {
            fields["refresh_token"] = .string(refresh)
            fields["refresh_token_issued_at"] = previous.fields["refresh_token_issued_at"]
        }
        self.fields = fields
    }

    public var accessToken: String? { fields["access_token"]?.stringValue }
    public var refreshToken: String? { fields["refresh_token"]?.stringValue }
    public var isEmpty: Bool { fields.isEmpty }

    /// When the refresh token was granted; `nil` when unknown (tokens stored before it was kept).
    public var refreshTokenIssuedAt: Date? {
        guard case .number(let seconds)? = fields["refresh_token_issued_at"], seconds.isFinite, seconds > 0 else { return nil }
        return Date(timeIntervalSince1970: seconds)
    }

    /// When the access token stops being good: `auth_time + expires`; `nil` when unknown.
    public var expiresAt: Date? {
        guard case .number(let issued)? = fields["auth_time"], case .number(let lifetime)? = fields["expires"] ?? fields["expires_in"],
            issued.isFinite, lifetime.isFinite, lifetime > 0
        else { return nil }
        return Date(timeIntervalSince1970: issued + min(lifetime, Double(Self.longestLifetime)))
    }

    /// Whether the access token is known to be expired, or to expire within `margin`: refresh
    /// before calling. Unknown expiry is not expired (the call's 401 still triggers a refresh).
    public func hasExpired(now: Date = Date(), margin: TimeInterval = 30) -> Bool {
        guard let expiresAt else { return false }
        return expiresAt.timeIntervalSince(now) <= margin
    }

    /// `metadata` with these fields merged over its own (form fields are kept).
    public func merged(into metadata: JSONValue) -> JSONValue {
        guard case .object(var members) = metadata else { return .object(fields) }
        members.merge(fields) { _, new in new }
        return .object(members)
    }

    /// `expires_in` as whole seconds within 0...``longestLifetime``: no answer (`1e300`, `NaN`,
    /// negative, text) can trap or pin a token for ever; 0 means "unknown".
    public static func lifetime(_ value: JSONValue?) -> Int {
        let seconds: Double
        switch value {
        case .number(let number)?: seconds = number
        case .string(let text)?: seconds = Double(text) ?? 0
        default: seconds = 0
        }
        guard seconds.isFinite, seconds > 0 else { return 0 }
        return Int(min(seconds, Double(longestLifetime)))
    }

    /// Unstract's `refresh_after` format, `%d/%m/%Y %H:%M:%S` in UTC.
    static func unstractDate(_ epochSeconds: Int64) -> String {
        let parts = UTCDateParts(Date(timeIntervalSince1970: TimeInterval(epochSeconds)))
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(two(parts.day))/\(two(parts.month))/\(parts.year) \(two(parts.hour)):\(two(parts.minute)):\(two(parts.second))"
    }

    /// Never the tokens: the keys present only.
    public var description: String { "OAuthTokenSet(\(fields.keys.sorted().joined(separator: ", ")))" }
}
