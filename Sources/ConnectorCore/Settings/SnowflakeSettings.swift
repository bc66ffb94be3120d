import Foundation

/// Everything needed to probe a Snowflake account (Unstract's `snowflake` connector fields).
public struct SnowflakeSettings: Sendable, Equatable {
    /// As entered: `orgname-account` or a legacy locator `xy12345.us-east-2.aws`.
    public var account: String
    public var user: String
    public var password: String?
    /// PKCS#8 PEM of the user's registered key pair (key-pair login when given).
    public var privateKeyPEM: String?
    public var database: String?
    public var schema: String?
    public var warehouse: String?
    public var role: String?

    /// The account part of claims and `ACCOUNT_NAME`: before the first `.`, upper-cased.
    public var accountName: String { String(account.split(separator: ".").first ?? "").uppercased() }

    /// - Throws: ``MetadataError`` naming the field to fix.
    public init(metadata: JSONValue) throws(MetadataError) {
        let reader = try MetadataReader(metadata)
        account = try reader.requiredString("account")
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-_."))
        guard account.count <= 255, account.unicodeScalars.allSatisfy({ allowed.contains($0) }), !account.hasPrefix(".") else {
            throw MetadataError(attr: "account", "account must be an account identifier such as myorg-myaccount.")
        }
        user = try reader.requiredString("user")
        password = try reader.string("password").flatMap { $0.isEmpty ? nil : $0 }
        privateKeyPEM = try reader.string("private_key").flatMap { $0.isEmpty ? nil : $0 }
        guard password != nil || privateKeyPEM != nil else {
            throw MetadataError(attr: "password", "Give the password, or the private key of a key pair registered for the user.")
        }
        if let key = privateKeyPEM, !key.contains("-----BEGIN PRIVATE KEY-----") {
            throw MetadataError(attr: "private_key", "private_key must be an unencrypted PKCS#8 PEM key (-----BEGIN PRIVATE KEY-----).")
        }
        database = try reader.string("database").flatMap { $0.isEmpty ? nil : $0 }
        schema = try reader.string("schema").flatMap { $0.isEmpty ? nil : $0 }
        warehouse = try reader.string("warehouse").flatMap { $0.isEmpty ? nil : $0 }
        role = try reader.string("role").flatMap { $0.isEmpty ? nil : $0 }
    }
}
