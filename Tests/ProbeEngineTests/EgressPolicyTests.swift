import LinuxIO
import Testing

@testable import ProbeEngine

@Suite struct EgressPolicyTests {
    private func address(_ text: String) -> IPAddress { IPAddress(numeric: text)! }

    @Test func developmentDeniesLinkLocalOnly() {
        let policy = EgressPolicy.development
        #expect(policy.refusal(for: address("169.254.169.254")) == "link-local")
        #expect(policy.refusal(for: address("fe80::1")) == "link-local")
        #expect(policy.refusal(for: address("127.0.0.1")) == nil)
        #expect(policy.refusal(for: address("::1")) == nil)
        #expect(policy.refusal(for: address("10.1.2.3")) == nil)
        #expect(policy.refusal(for: address("8.8.8.8")) == nil)
    }

    @Test func productionDeniesLoopbackAndPrivate() {
        let policy = EgressPolicy.production
        #expect(policy.refusal(for: address("127.0.0.1")) == "loopback")
        #expect(policy.refusal(for: address("192.168.1.1")) == "private")
        #expect(policy.refusal(for: address("::ffff:10.0.0.1")) == "private")
        #expect(policy.refusal(for: address("93.184.216.34")) == nil)
    }

    @Test func allowAndDenyListsWin() {
        var policy = EgressPolicy.production
        policy.allow = [CIDR("10.20.0.0/16")!]
        policy.deny = [CIDR("93.184.216.0/24")!]
        #expect(policy.refusal(for: address("10.20.3.4")) == nil)
        #expect(policy.refusal(for: address("10.21.3.4")) == "private")
        #expect(policy.refusal(for: address("93.184.216.34"))?.hasPrefix("deny-listed") == true)
    }

    @Test func cidrParsing() {
        #expect(CIDR("10.0.0.0/8")?.contains(address("10.255.0.1")) == true)
        #expect(CIDR("10.0.0.0/8")?.contains(address("11.0.0.1")) == false)
        #expect(CIDR("fc00::/7")?.contains(address("fd12::1")) == true)
        #expect(CIDR("1.2.3.4/33") == nil)
        #expect(CIDR("nonsense") == nil)
        #expect(CIDR("1.2.3.4")?.prefixLength == 32)
    }
}

@Suite struct ResolutionShortcutTests {
    @Test func numericAndReservedNamesNeedNoLookup() {
        #expect(ProbeEngine.resolveWithoutLookup("127.0.0.1") == .addresses([IPAddress(numeric: "127.0.0.1")!]))
        #expect(ProbeEngine.resolveWithoutLookup("::1") == .addresses([IPAddress(numeric: "::1")!]))
        #expect(ProbeEngine.resolveWithoutLookup("LocalHost") == .addresses([IPAddress(numeric: "127.0.0.1")!]))
        #expect(ProbeEngine.resolveWithoutLookup("db.example.invalid") == .notFound)
        #expect(ProbeEngine.resolveWithoutLookup("db.example.invalid.") == .notFound)
        #expect(ProbeEngine.resolveWithoutLookup("db.example.com") == nil)
    }
}

@Suite struct DeadlineHeapTests {
    @Test func popsInDeadlineOrder() {
        var heap = DeadlineHeap()
        let deadlines: [UInt64] = [50, 10, 40, 10, 30, 20, 60, 5]
        for (id, deadline) in deadlines.enumerated() { heap.push(deadline: deadline, id: UInt64(id)) }
        var popped: [UInt64] = []
        while let top = heap.pop() { popped.append(top.deadline) }
        #expect(popped == deadlines.sorted())
    }
}

@Suite struct AddressTests {
    @Test func numericAddressesRoundTrip() {
        #expect(IPAddress(numeric: "127.0.0.1")?.description == "127.0.0.1")
        #expect(IPAddress(numeric: "::1")?.description == "::1")
        #expect(IPAddress(numeric: "fe80::1")?.bytes.count == 16)
        #expect(IPAddress(numeric: "localhost") == nil)
        #expect(IPAddress(numeric: "999.1.1.1") == nil)
    }

    @Test func systemResolverAnswersFromTheHostsFile() {
        // /etc/hosts always names localhost, so this needs no network.
        guard case .addresses(let found) = NameResolver.resolve("localhost") else {
            Issue.record("localhost did not resolve")
            return
        }
        #expect(found.contains(IPAddress(numeric: "127.0.0.1")!))
    }
}

@Suite struct MetadataAddressTests {
    @Test func cloudMetadataAddressesOutsideLinkLocalAreDenied() {
        #expect(EgressPolicy.development.refusal(for: IPAddress(numeric: "fd00:ec2::254")!) == "link-local")
        #expect(EgressPolicy.development.refusal(for: IPAddress(numeric: "64:ff9b::a9fe:a9fe")!) == "link-local")
        #expect(CIDR("") == nil)
        #expect(CIDR("/8") == nil)
    }
}

/// Issue 8 §5: IPv6 forms that deliver to an IPv4 address are judged by that address, and the
/// extra default denials hold in development too.
@Suite struct EmbeddedAddressTests {
    static let production = EgressPolicy.production

    @Test(arguments: [
        ("64:ff9b::a9fe:a9fe", "link-local"),  // NAT64 well-known prefix: 169.254.169.254
        ("64:ff9b::0a00:0001", "private"),  // NAT64: 10.0.0.1
        ("64:ff9b:1::7f00:1", "loopback"),  // local-use NAT64, /96 embedding: 127.0.0.1
        ("64:ff9b:1:a9fe:a9:fe00::", "link-local"),  // local-use NAT64, /48 embedding (u octet skipped): 169.254.169.254
        ("2002:0a00:0001::1", "private"),  // 6to4 of 10.0.0.1
        ("2002:7f00:0001::", "loopback"),  // 6to4 of 127.0.0.1
        ("::7f00:1", "loopback"),  // IPv4-compatible 127.0.0.1
        ("::a9fe:a9fe", "link-local"),  // IPv4-compatible 169.254.169.254
    ])
    func anEmbeddedIPv4AddressIsCheckedInProduction(text: String, reason: String) throws {
        #expect(Self.production.refusal(for: try #require(IPAddress(numeric: text))) == reason)
    }

    @Test func embeddedPublicAddressesStayAllowed() throws {
        for text in ["64:ff9b::808:808", "2002:808:808::1", "2606:4700::1111"] {
            #expect(Self.production.refusal(for: try #require(IPAddress(numeric: text))) == nil, "\(text)")
        }
    }

    @Test(arguments: ["192.0.0.8", "198.18.0.1", "198.19.255.255", "fec0::1", "100.100.100.200"])
    func reservedAndMetadataAddressesAreDeniedEvenInDevelopment(text: String) throws {
        #expect(EgressPolicy.development.refusal(for: try #require(IPAddress(numeric: text))) != nil)
    }
}
