import Crypto
import CryptoExtras
import Synchronization

/// PBKDF2-HMAC-SHA-256, SCRAM's costly step, from either crypto library linked here. BoringSSL's
/// is the one probes use: 0.81 ms of CPU for PostgreSQL's 4,096 iterations here, against 2.13 ms
/// for Debian 12's OpenSSL 3.0 (`connector-engine bench-crypto`).
public enum PBKDF2: Sendable, Hashable {
    /// OpenSSL's `PKCS5_PBKDF2_HMAC` (the system library).
    case openSSL
    /// BoringSSL's, through swift-crypto.
    case boringSSL

    /// SaltedPassword: 32 bytes.
    public func sha256(password: [UInt8], salt: [UInt8], iterations: Int) -> [UInt8] {
        switch self {
        case .openSSL:
            return OpenSSLPBKDF2.sha256(password: password, salt: salt, iterations: iterations)
        case .boringSSL:
            let key = try? KDF.Insecure.PBKDF2.deriveKey(
                from: password, salt: salt, using: .sha256, outputByteCount: 32, unsafeUncheckedRounds: iterations)
            return key.map { $0.withUnsafeBytes { Array($0) } } ?? []
        }
    }
}

/// SCRAM's derived keys of recent credentials, so that checking one credential again costs a few
/// HMACs instead of thousands. In memory only; an entry is found by an HMAC, under a key made at
/// random for this process, of its scope (whose credentials: the tenant, host, port and user, so
/// that no one can learn from the time an answer takes whether another tenant tested a password),
/// the password, the salt and the iteration count (never by the password itself); at most `capacity` entries, the least recently used evicted and its keys
/// overwritten with zeros. Only passwords whose SASLprep is the identity (ASCII) may come here:
/// the password's bytes are used as they are.
public final class SCRAMKeyCache: Sendable {
    private struct Entry {
        var keys: SCRAMKeys
        var lastUse: UInt64
    }

    private struct State {
        var entries: [[UInt8]: Entry] = [:]
        var clock: UInt64 = 0
        var hits = 0
        var misses = 0
    }

    /// The per-process key of the entries' HMAC names.
    private let lookupKey: [UInt8] = {
        var generator = SystemRandomNumberGenerator()
        return (0..<4).flatMap { _ in withUnsafeBytes(of: generator.next()) { Array($0) } }
    }()
    private let capacity: Int
    private let derivation: PBKDF2
    private let state = Mutex(State())

    public init(capacity: Int = 4096, derivation: PBKDF2 = .boringSSL) {
        self.capacity = max(1, capacity)
        self.derivation = derivation
    }

    /// The keys of `password` with `salt` and `iterations`, derived on a miss.
    /// - Parameter scope: whose credentials these are; entries of another scope are never used.
    public func keys(scope: [UInt8], password: [UInt8], salt: [UInt8], iterations: Int) -> SCRAMKeys {
        let id = lookup(scope: scope, password: password, salt: salt, iterations: iterations)
        let cached = state.withLock { state -> SCRAMKeys? in
            state.clock += 1
            guard var entry = state.entries[id] else {
                state.misses += 1
                return nil
            }
            state.hits += 1
            entry.lastUse = state.clock
            state.entries[id] = entry
            return entry.keys
        }
        if let cached { return cached }
        var salted = derivation.sha256(password: password, salt: salt, iterations: iterations)
        let keys = SCRAMKeys(saltedPassword: salted)
        Self.zero(&salted)
        state.withLock { state in
            state.clock += 1
            if state.entries[id] == nil, state.entries.count >= capacity,
                let oldest = state.entries.min(by: { $0.value.lastUse < $1.value.lastUse })?.key,
                var evicted = state.entries.removeValue(forKey: oldest)
            {
                evicted.keys.zero()
            }
            state.entries[id] = Entry(keys: keys, lastUse: state.clock)
        }
        return keys
    }

    /// Hits and misses so far, and the entries held.
    public var statistics: (hits: Int, misses: Int, entries: Int) {
        state.withLock { ($0.hits, $0.misses, $0.entries.count) }
    }

    private func lookup(scope: [UInt8], password: [UInt8], salt: [UInt8], iterations: Int) -> [UInt8] {
        // Lengths first, so that no two different inputs feed the same bytes.
        var input: [UInt8] = []
        input.reserveCapacity(32 + scope.count + password.count + salt.count)
        for part in [scope, password, salt] {
            withUnsafeBytes(of: UInt64(part.count).bigEndian) { input += $0 }
            input += part
        }
        withUnsafeBytes(of: UInt64(iterations).bigEndian) { input += $0 }
        defer { Self.zero(&input) }
        return SCRAMClient.hmac(lookupKey, input)
    }

    static func zero(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { _ = $0.initializeMemory(as: UInt8.self, repeating: 0) }
    }
}

extension SCRAMKeys {
    /// Overwrites both keys with zeros in place. A probe still holding a copy keeps its own
    /// storage (copy on write) until it ends.
    mutating func zero() {
        SCRAMKeyCache.zero(&clientKey)
        SCRAMKeyCache.zero(&serverKey)
    }
}
