/// The time spent in one stage of a probe and whether the stage succeeded.
public struct StageTiming: Sendable, Equatable {
    public var stage: ProbeStage
    public var milliseconds: Double
    public var ok: Bool

    public init(stage: ProbeStage, milliseconds: Double, ok: Bool) {
        self.stage = stage
        self.milliseconds = milliseconds
        self.ok = ok
    }
}

/// The verdict of one credential test: the outcome, where it happened, what to fix and how long
/// each stage took. What it renders never carries a secret; ``refreshedTokens`` is for the store
/// only.
public struct ProbeReport: Sendable, Equatable {
    public var code: OutcomeCode
    /// The stage that failed; `nil` on success.
    public var stage: ProbeStage?
    /// The metadata field to fix, where known.
    public var attr: String?
    /// A one-line explanation in our own words (never the server's text, never a secret).
    public var detail: String
    /// A one-line suggestion of what to do.
    public var hint: String
    /// The driver's structured signal behind the verdict, e.g. `SQLSTATE 28P01` or `errno 111`.
    public var signal: String?
    public var elapsedMilliseconds: Double
    public var stages: [StageTiming]
    /// OAuth tokens the probe obtained by refreshing (secrets: written back to the connector,
    /// never rendered).
    public var refreshedTokens: OAuthTokenSet?
    /// What the probe found that predicts a failure (an expiry within the engine's warning window).
    public var warnings: [ProbeWarning] = []
    /// What spoke to the service (`libpq`, `native`, `libmariadb`, `libcurl`); nil when no probe
    /// ran (the metadata was refused first).
    public var driver: String?

    public init(
        code: OutcomeCode, stage: ProbeStage? = nil, attr: String? = nil, detail: String? = nil,
        hint: String? = nil, signal: String? = nil, elapsedMilliseconds: Double = 0, stages: [StageTiming] = []
    ) {
        self.code = code
        self.stage = code == .ok ? nil : stage
        self.attr = attr
        self.detail = detail ?? code.summary
        self.hint = hint ?? code.defaultHint
        self.signal = signal
        self.elapsedMilliseconds = elapsedMilliseconds
        self.stages = stages
    }

    /// Whether the credentials passed the test.
    public var isValid: Bool { code == .ok }

    /// The signal of a test the engine ended because it shut down: such a verdict says nothing
    /// about the credentials (the API answers it 503, health history does not record it).
    public static let shutDownSignal = "engine shut down"

    /// Whether the engine ended this test because it shut down.
    public var wasCutByShutdown: Bool { signal == Self.shutDownSignal }

    /// The HTTP status this verdict maps to.
    public var status: Int { code.status }

    /// A report for metadata that failed validation.
    public static func invalid(_ error: MetadataError) -> ProbeReport {
        ProbeReport(
            code: .invalidMetadata, stage: .validate, attr: error.attr, detail: error.detail,
            hint: error.attr.map { "Fix the field '\($0)'." } ?? OutcomeCode.invalidMetadata.defaultHint)
    }

    /// A report for a connector id that is not in the catalog.
    public static func unknownConnector(_ id: String) -> ProbeReport {
        ProbeReport(
            code: .unknownConnector, stage: .validate, attr: "connector_id",
            detail: "The connector id is not in the catalog.")
    }
}

extension ProbeReport {
    /// The `probe` object of the API (DESIGN §4).
    public var probeJSON: JSONValue {
        .object([
            "elapsed_ms": .number(Self.rounded(elapsedMilliseconds)),
            "code": .string(code.rawValue),
            "stage": stage.map { .string($0.rawValue) } ?? .null,
            "attr": attr.map { .string($0) } ?? .null,
            "retryable": .bool(code.retryable),
            "hint": .string(hint),
            "signal": signal.map { .string($0) } ?? .null,
            "driver": driver.map { .string($0) } ?? .null,
            "stages": stagesJSON,
            "warnings": warningsJSON,
        ])
    }

    /// `[{code, detail, expires_at, attr}]`.
    public var warningsJSON: JSONValue {
        .array(warnings.map(\.json))
    }

    /// `{stage: {ms, ok}}` for each stage the probe went through.
    public var stagesJSON: JSONValue {
        var stageObject: [String: JSONValue] = [:]
        for timing in stages {
            stageObject[timing.stage.rawValue] = [
                "ms": .number(Self.rounded(timing.milliseconds)), "ok": .bool(timing.ok),
            ]
        }
        return .object(stageObject)
    }

    /// The whole response body of `POST test_connectors/` for this verdict: `{is_valid, probe}` on
    /// success, otherwise the Unstract error body plus `is_valid` and `probe`.
    public var responseBody: JSONValue {
        if isValid {
            return ["is_valid": true, "probe": probeJSON]
        }
        var body = APIErrorBody(type: code.errorType, code: code.rawValue, detail: detail, attr: attr).json
        if case .object(var members) = body {
            members["is_valid"] = false
            members["probe"] = probeJSON
            body = .object(members)
        }
        return body
    }

    /// Milliseconds as the API shows them: to the microsecond.
    public static func rounded(_ value: Double) -> Double {
        (value * 1000).rounded() / 1000
    }
}
