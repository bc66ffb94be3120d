/// Why a Redis command failed. No case ever carries a password or a stored value.
public enum RedisError: Error, Sendable, Equatable {
    /// The server could not be used: no connection, a connect or command timeout, the
    /// connection lost, a TLS failure, or the client shut down. A short reason.
    case unavailable(String)
    /// The server answered with an error reply; its first word (`WRONGPASS`, `NOAUTH`, `ERR`, …).
    case server(code: String)
    /// The server sent something that is not the RESP2 reply the command expects.
    case protocolError(String)
}

extension RedisError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .unavailable(let reason): "Redis unavailable: \(reason)"
        case .server(let code): "Redis error reply: \(code)"
        case .protocolError(let reason): "Redis protocol error: \(reason)"
        }
    }
}
