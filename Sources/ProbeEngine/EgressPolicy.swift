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

    /// Why an address is refused, or `nil` when it is allowed. An IPv6 address that carries an
    /// IPv4 address (NAT64, 6to4, IPv4-compatible) is refused when that IPv4 address would be.
    /// The reason names a category, never the address.
    public func refusal(for address: IPAddress) -> String? {
        if let reason = ownRefusal(for: address) { return reason }
        if allow.contains(where: { $0.contains(address) }) { return nil }
        for embedded in address.embeddedIPv4 {
            if let reason = ownRefusal(for: embedded) { return reason }
        }
        return nil
    }

    private func ownRefusal(for address: IPAddress) -> String? {
        if deny.contains(where: { $0.contains(address) }) { return "deny-listed" }
        if allow.contains(where: { $0.contains(address) }) { return nil }
        if Self.linkLocal.contains(where: { $0.contains(address) }) { return "link-local" }
        if Self.reserved.contains(where: { $0.contains(address) }) { return "reserved" }
        if Self.unroutable.contains(where: { $0.contains(address) }) { return "unspecified or multicast" }
        if Self.loopback.contains(where: { $0.contains(address) }) { return allowLoopback ? nil : "loopback" }
        if Self.privateRanges.contains(where: { $0.contains(address) }) { return allowPrivate ? nil : "private" }
        return nil
    }

    /// Always denied: link-local networks and the cloud metadata addresses that live outside them
    /// (AWS's IPv6 endpoint, Alibaba's 100.100.100.200).
    private static let linkLocal = ["169.254.0.0/16", "fe80::/10", "fd00:ec2::254/128", "100.100.100.200/32"].compactMap(CIDR.init)
    /// Always denied: IETF protocol assignments, the benchmarking range, deprecated site-local IPv6.
    private static let reserved = ["192.0.0.0/24", "198.18.0.0/15", "fec0::/10"].compactMap(CIDR.init)
    private static let unroutable = ["0.0.0.0/8", "::/128", "224.0.0.0/4", "ff00::/8", "255.255.255.255/32"]
        .compactMap(CIDR.init)
    private static let loopback = ["127.0.0.0/8", "::1/128"].compactMap(CIDR.init)
    private static let privateRanges = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7"]
        .compactMap(CIDR.init)
}

extension IPAddress {
    /// The IPv4 addresses an IPv6 address may deliver to: NAT64 (`64:ff9b::/96`, and the
    /// local-use `64:ff9b:1::/48` with a /96 or /48 prefix), 6to4 (`2002::/16`) and
    /// IPv4-compatible (`::/96`, but not `::` or `::1`).
    var embeddedIPv4: [IPAddress] {
        guard case .v6 = self else { return [] }
        let b = bytes
        func v4(_ octets: [UInt8]) -> IPAddress {
            .v4(octets.reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
        }
        var found: [IPAddress] = []
        let wellKnownNAT64: [UInt8] = [0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0]
        if Array(b[0..<12]) == wellKnownNAT64 { found.append(v4(Array(b[12..<16]))) }
        if Array(b[0..<6]) == [0x00, 0x64, 0xff, 0x9b, 0x00, 0x01] {
            // RFC 6052: a /96 prefix leaves bits 48-95 zero; a /48 one puts the IPv4 address in
            // bits 48-63 and 72-87 (bits 64-71 are the reserved u octet).
            found.append(b[6..<12].allSatisfy { $0 == 0 } ? v4(Array(b[12..<16])) : v4([b[6], b[7], b[9], b[10]]))
        }
        if b[0] == 0x20, b[1] == 0x02 { found.append(v4(Array(b[2..<6]))) }
        if b[0..<12].allSatisfy({ $0 == 0 }), b[12..<15].contains(where: { $0 != 0 }) || b[15] > 1 {
            found.append(v4(Array(b[12..<16])))
        }
        return found
    }
}
