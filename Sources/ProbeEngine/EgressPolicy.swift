import LinuxIO

/// An IP network written as `address/prefix`, e.g. `10.0.0.0/8` or `fe80::/10`.
public struct CIDR: Sendable, Hashable, CustomStringConvertible {
    public let network: IPAddress
    public let prefixLength: Int

    /// Parses `address/prefix` (a bare address is a single-host network).
    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard let first = parts.first, let address = IPAddress(numeric: first) else { return nil }
        let bits = address.bytes.count * 8
        let length = parts.count == 2 ? Int(parts[1]) : bits
        guard let length, (0...bits).contains(length) else { return nil }
        network = address
        prefixLength = length
    }

    /// Whether `address` lies in this network (an IPv4-mapped IPv6 address counts as IPv4).
    public func contains(_ address: IPAddress) -> Bool {
        let candidate = address.unmapped.bytes
        let base = network.bytes
        guard candidate.count == base.count else { return false }
        var remaining = prefixLength
        for index in base.indices where remaining > 0 {
            let take = min(8, remaining)
            let mask = UInt8(truncatingIfNeeded: 0xff << (8 - take))
            if candidate[index] & mask != base[index] & mask { return false }
            remaining -= take
        }
        return true
    }

    public var description: String { "\(network)/\(prefixLength)" }
}

extension IPAddress {
    /// The IPv4 address inside an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`), else itself.
    var unmapped: IPAddress {
        guard case .v6(let bytes) = self, bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xff, bytes[11] == 0xff
        else { return self }
        return .v4(UInt32(bytes[12]) << 24 | UInt32(bytes[13]) << 16 | UInt32(bytes[14]) << 8 | UInt32(bytes[15]))
    }
}

/// Which resolved addresses a probe may connect to (DESIGN §6). Checked on every address after
/// resolution and before any packet is sent.
public struct EgressPolicy: Sendable {
    /// Networks always allowed, checked after `deny`.
    public var allow: [CIDR]
    /// Networks always denied, checked first.
    public var deny: [CIDR]
    /// Whether loopback (127.0.0.0/8, ::1) is reachable: dev and test set-ups.
    public var allowLoopback: Bool
    /// Whether private ranges (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7) are reachable.
    public var allowPrivate: Bool

    public init(allow: [CIDR] = [], deny: [CIDR] = [], allowLoopback: Bool, allowPrivate: Bool) {
        self.allow = allow
        self.deny = deny
        self.allowLoopback = allowLoopback
        self.allowPrivate = allowPrivate
    }

    /// Development and tests: loopback and private ranges allowed, link-local denied.
    public static let development = EgressPolicy(allowLoopback: true, allowPrivate: true)
    /// Production: only public addresses, unless allow-listed.
    public static let production = EgressPolicy(allowLoopback: false, allowPrivate: false)

    /// Why an address is refused, or `nil` when it is allowed.
    public func refusal(for address: IPAddress) -> String? {
        if let network = deny.first(where: { $0.contains(address) }) { return "deny-listed (\(network))" }
        if allow.contains(where: { $0.contains(address) }) { return nil }
        if Self.linkLocal.contains(where: { $0.contains(address) }) { return "link-local" }
        if Self.unroutable.contains(where: { $0.contains(address) }) { return "unspecified or multicast" }
        if Self.loopback.contains(where: { $0.contains(address) }) { return allowLoopback ? nil : "loopback" }
        if Self.privateRanges.contains(where: { $0.contains(address) }) { return allowPrivate ? nil : "private" }
        return nil
    }

    /// Link-local networks plus the cloud metadata addresses that live outside them: AWS's IPv6
    /// endpoint and 169.254.0.0/16 reached through the NAT64 prefix.
    private static let linkLocal = ["169.254.0.0/16", "fe80::/10", "fd00:ec2::254/128", "64:ff9b::a9fe:0/112"]
        .compactMap(CIDR.init)
    private static let unroutable = ["0.0.0.0/8", "::/128", "224.0.0.0/4", "ff00::/8", "255.255.255.255/32"]
        .compactMap(CIDR.init)
    private static let loopback = ["127.0.0.0/8", "::1/128"].compactMap(CIDR.init)
    private static let privateRanges = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7"]
        .compactMap(CIDR.init)
}
