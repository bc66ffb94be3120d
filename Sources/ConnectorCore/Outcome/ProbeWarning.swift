import Foundation

/// A fact a probe found that predicts a failure (issue 10): what will expire, when, and which
/// field it concerns. Returned with every verdict, job result and history entry.
public struct ProbeWarning: Sendable, Equatable {
    public enum Code: String, Sendable {
        /// The database role's password stops working (PostgreSQL `VALID UNTIL`).
        case passwordExpires = "password_expires"
        /// The server's TLS certificate expires.
        case certificateExpires = "certificate_expires"
        /// The account's password has expired: the server wants a new one (MySQL/MariaDB).
        case passwordExpired = "password_expired"
        /// The OAuth refresh token reaches the age at which its provider stops honouring it
        /// (Google: 7 days for an app whose consent screen is in testing).
        case refreshTokenExpires = "refresh_token_expires"
    }

    public let code: Code
    /// When it expires; nil when it already has and the server did not say when.
    public let expiresAt: Date?
    /// The metadata field to act on, where one is.
    public let attr: String?

    public init(code: Code, expiresAt: Date?, attr: String?) {
        self.code = code
        self.expiresAt = expiresAt
        self.attr = attr
    }

    /// One sentence for a person.
    public var detail: String {
        let days = expiresAt.map { max(0, Int(($0.timeIntervalSinceNow / 86_400).rounded(.down))) } ?? 0
        let when = days == 0 ? "within a day" : "in \(days) day\(days == 1 ? "" : "s")"
        switch code {
        case .passwordExpires: return "The database user's password expires \(when); set a new one before then."
        case .certificateExpires: return "The server's TLS certificate expires \(when); the server needs a new one before then."
        case .passwordExpired: return "The database user's password has expired; set a new one."
        case .refreshTokenExpires:
            if let expiresAt, expiresAt <= Date() { return "The OAuth refresh token is past the provider's age limit; sign in again." }
            return "The OAuth refresh token reaches the provider's age limit \(when); sign in again before then."
        }
    }

    /// `{code, detail, expires_at, attr}`.
    public var json: JSONValue {
        [
            "code": .string(code.rawValue), "detail": .string(detail), "expires_at": expiresAt.map { .string(UTCDateParts.iso8601($0)) } ?? .null,
            "attr": attr.map { .string($0) } ?? .null,
        ]
    }
}
