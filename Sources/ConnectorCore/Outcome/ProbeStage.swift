/// A stage of a credential probe, in the order they happen.
public enum ProbeStage: String, Sendable, Codable, CaseIterable, Comparable {
    case validate
    case resolve
    case connect
    case tls
    case auth
    case query
    case request

    public static func < (lhs: ProbeStage, rhs: ProbeStage) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}
