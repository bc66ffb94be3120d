import CLinuxIO
import CResolver
import Glibc

/// What a name lookup found.
public enum Resolution: Sendable, Equatable {
    case addresses([IPAddress])
    /// The name does not exist (NXDOMAIN, or no address of any family).
    case notFound
    /// The lookup itself failed; the `getaddrinfo` error code.
    case failure(Int32)
}

/// Name lookups through the system resolver (`getaddrinfo_a`, which runs them on the C
/// library's own threads). Call only from a thread reserved for blocking work, never from a
/// reactor: the caller waits, but never longer than it asks.
public enum NameResolver {
    /// The `getaddrinfo` status of a lookup given up at its caller's deadline (`EAI_AGAIN`).
    public static let gaveUp: Int32 = EAI_AGAIN

    /// Resolves `host` to its TCP addresses, in the resolver's order, without duplicates.
    /// - Parameter milliseconds: how long to wait; a lookup still running then is abandoned to
    ///   the C library (freed when it ends) and reported as ``gaveUp``.
    public static func resolve(_ host: String, within milliseconds: Int = 30_000) -> Resolution {
        guard let lookup = resolver_lookup_start(host) else { return .failure(EAI_SYSTEM) }
        defer { resolver_lookup_release(lookup) }
        guard resolver_lookup_wait(lookup, Int32(clamping: max(0, milliseconds))) == 1 else { return .failure(gaveUp) }
        let status = resolver_lookup_status(lookup)
        switch status {
        case 0:
            var found: [IPAddress] = []
            var entry: UnsafePointer<addrinfo>? = resolver_lookup_addresses(lookup)
            while let current = entry {
                if let pointer = current.pointee.ai_addr, let address = IPAddress.from(sockaddr: pointer),
                    !found.contains(address)
                {
                    found.append(address)
                }
                entry = UnsafePointer(current.pointee.ai_next)
            }
            return found.isEmpty ? .notFound : .addresses(found)
        case EAI_NONAME, -5 /* EAI_NODATA, a GNU extension */:
            return .notFound
        default:
            return .failure(status)
        }
    }
}
