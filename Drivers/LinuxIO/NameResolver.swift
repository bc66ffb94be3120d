import CLinuxIO
import Glibc

/// What a name lookup found.
public enum Resolution: Sendable, Equatable {
    case addresses([IPAddress])
    /// The name does not exist (NXDOMAIN, or no address of any family).
    case notFound
    /// The lookup itself failed; the `getaddrinfo` error code.
    case failure(Int32)
}

/// Blocking name lookups through the system resolver (`getaddrinfo`). Call only from a thread
/// reserved for blocking work, never from a reactor.
public enum NameResolver {
    /// Resolves `host` to its TCP addresses, in the resolver's order, without duplicates.
    public static func resolve(_ host: String) -> Resolution {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &list)
        defer { if let list { freeaddrinfo(list) } }
        switch status {
        case 0:
            var found: [IPAddress] = []
            var entry = list
            while let current = entry {
                if let pointer = current.pointee.ai_addr, let address = IPAddress.from(sockaddr: pointer),
                    !found.contains(address)
                {
                    found.append(address)
                }
                entry = current.pointee.ai_next
            }
            return found.isEmpty ? .notFound : .addresses(found)
        case EAI_NONAME, -5 /* EAI_NODATA, a GNU extension */:
            return .notFound
        default:
            return .failure(status)
        }
    }
}
