import ConnectorCore
import Encryption
import Foundation

/// Where one flow stands in the cache: its key was issued (the login route may start it), or the
/// provider answered and the token set waits to be used.
public enum OAuthFlowEntry: Sendable, Equatable {
    case issued
    case completed(OAuthTokenSet)
}

/// What the login route keeps for the callback, under the flow's single-use `state`.
public struct OAuthPendingLogin: Sendable, Equatable {
    public let cacheKey: OAuthCacheKey
    /// The PKCE verifier, sent only with the code exchange.
    public let verifier: String
    /// The redirect URI the provider was given; the exchange repeats it.
    public let redirectURI: String

    public init(cacheKey: OAuthCacheKey, verifier: String, redirectURI: String) {
        self.cacheKey = cacheKey
        self.verifier = verifier
        self.redirectURI = redirectURI
    }
}

/// The OAuth cache over a storage: every value sealed (AES-GCM) under the key ring with its own
/// storage key as associated data, so an entry cannot be read under another key, and nothing in
/// Redis or the store's table is readable without the key ring.
public struct OAuthTokenCache: Sendable {
    let storage: any OAuthCacheStorage
    let keyRing: KeyRing

    public init(storage: any OAuthCacheStorage, keyRing: KeyRing) {
        self.storage = storage
        self.keyRing = keyRing
    }

    // MARK: Flow entries, under the cache key itself

    public func put(_ entry: OAuthFlowEntry, for key: OAuthCacheKey, ttl: Duration) async throws {
        let json: JSONValue
        switch entry {
        case .issued: json = ["status": "issued"]
        case .completed(let tokens): json = ["status": "completed", "tokens": .object(tokens.fields)]
        }
        try await storage.store(key.description, value: try seal(json, under: key.description), ttl: ttl)
    }

    /// The unexpired entry of a flow and its sealed bytes (for ``remove(_:ifSealed:)``), left in
    /// place; `nil` when there is none or it does not open under the key ring.
    public func entry(for key: OAuthCacheKey) async throws -> (entry: OAuthFlowEntry, sealed: [UInt8])? {
        guard let sealed = try await storage.fetch(key.description), let json = open(sealed, under: key.description) else { return nil }
        switch json["status"]?.stringValue {
        case "issued": return (.issued, sealed)
        case "completed": return (.completed(OAuthTokenSet(metadata: json["tokens"] ?? .null)), sealed)
        default: return nil
        }
    }

    /// Removes a flow's entry if it is still the one read (a newer flow under the key stays).
    @discardableResult
    public func remove(_ key: OAuthCacheKey, ifSealed sealed: [UInt8]) async throws -> Bool {
        try await storage.remove(key.description, ifValue: sealed)
    }

    // MARK: Pending logins, under their state

    public func putLogin(_ login: OAuthPendingLogin, state: String, ttl: Duration) async throws {
        let storageKey = Self.stateKey(state)
        let json: JSONValue = [
            "cache_key": .string(login.cacheKey.description), "verifier": .string(login.verifier),
            "redirect_uri": .string(login.redirectURI),
        ]
        try await storage.store(storageKey, value: try seal(json, under: storageKey), ttl: ttl)
    }

    /// The pending login of `state`, removed as it is read: a state works once.
    public func takeLogin(state: String) async throws -> OAuthPendingLogin? {
        let storageKey = Self.stateKey(state)
        guard let sealed = try await storage.take(storageKey), let json = open(sealed, under: storageKey),
            let key = json["cache_key"]?.stringValue.flatMap(OAuthCacheKey.init), let verifier = json["verifier"]?.stringValue,
            let redirectURI = json["redirect_uri"]?.stringValue
        else { return nil }
        return OAuthPendingLogin(cacheKey: key, verifier: verifier, redirectURI: redirectURI)
    }

    /// Storage keys of pending logins; a state is 43 base64url characters, so it cannot collide
    /// with a cache key (`oauth:…`).
    static func stateKey(_ state: String) -> String { "oauth-state:" + state }

    // MARK: Sealing

    private func seal(_ json: JSONValue, under storageKey: String) throws -> [UInt8] {
        Array(try keyRing.seal(Data(json.serialized()), context: Self.context(storageKey)))
    }

    private func open(_ sealed: [UInt8], under storageKey: String) -> JSONValue? {
        guard let plaintext = try? keyRing.open(Data(sealed), context: Self.context(storageKey)) else { return nil }
        return try? JSONValue.parse(plaintext)
    }

    static func context(_ storageKey: String) -> String { "oauth-cache|" + storageKey }
}
