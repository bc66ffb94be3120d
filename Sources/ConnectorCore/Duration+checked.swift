extension Duration {
    /// A duration of `seconds` if it is a finite, positive number no larger than a day; `nil`
    /// otherwise (so user input can never trap a conversion).
    public static func checkedSeconds(_ seconds: Double) -> Duration? {
        guard seconds.isFinite, seconds > 0, seconds <= 86_400 else { return nil }
        return .milliseconds(Int64((seconds * 1000).rounded()))
    }
}
