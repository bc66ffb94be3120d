import CloudAuth
import ConnectorCore
import CurlDriver
import Foundation
import LinuxIO
import ProbeEngine

/// Where Snowflake logins go: `https://<account>.snowflakecomputing.com`, unless configuration
/// sends every account to one base URL (tests, private endpoints).
public struct SnowflakeEndpoints: Sendable {
    public var baseURLOverride: String?
    public var caFile: String?

    public init(baseURLOverride: String? = nil, caFile: String? = nil) {
        self.baseURLOverride = baseURLOverride
        self.caFile = caFile
    }

    public static let snowflake = SnowflakeEndpoints()

    func baseURL(for settings: SnowflakeSettings) -> String {
        baseURLOverride ?? "https://\(settings.account.lowercased()).snowflakecomputing.com"
    }
}

/// Plans Snowflake probes: one `login-request` with the password, or with a key-pair JWT whose
/// issuer carries the public key's fingerprint.
struct SnowflakeProbeDriver: ProbeDriver {
    let endpoints: SnowflakeEndpoints

    func plan(for type: ConnectorType, metadata: JSONValue, tenant: String) throws(MetadataError) -> ProbePlan {
        let settings = try SnowflakeSettings(metadata: metadata)
        if let key = settings.privateKeyPEM, !RS256JWT.isUsableKey(key) {
            throw MetadataError(attr: "private_key", "private_key is not a usable RSA key.")
        }
        let url = endpoints.baseURL(for: settings) + "/session/v1/login-request?request_id=" + UUID().uuidString.lowercased()
        guard let host = HTTPTransfer.hostAndPort(url)?.host else {
            throw MetadataError(attr: "account", "account does not make a valid host name.")
        }
        let caFile = endpoints.caFile
        return ProbePlan(host: host, hostAttr: "account", driver: "libcurl") { _ in
            HTTPProbe(machine: SnowflakeProbeMachine(settings: settings, url: url, caFile: caFile))
        }
    }
}

/// One `login-request`: the password, or a key-pair JWT whose issuer carries the public key's
/// fingerprint.
struct SnowflakeProbeMachine: HTTPProbeMachine {
    let settings: SnowflakeSettings
    let url: String
    let caFile: String?
    /// The JWT's issue time.
    var now: @Sendable () -> Date = { Date() }

    func start() -> HTTPStep {
        var data: [String: JSONValue] = [
            "ACCOUNT_NAME": .string(settings.accountName), "LOGIN_NAME": .string(settings.user),
            "CLIENT_APP_ID": "connector-engine", "CLIENT_APP_VERSION": "1.0", "SESSION_PARAMETERS": .object([:]),
        ]
        if let key = settings.privateKeyPEM {
            let identity = settings.accountName + "." + settings.user.uppercased()
            let issued = Double(Int64(now().timeIntervalSince1970))
            guard let fingerprint = try? RS256JWT.publicKeyFingerprint(privateKeyPEM: key),
                let jwt = try? RS256JWT.sign(
                    claims: [
                        "iss": .string(identity + "." + fingerprint), "sub": .string(identity), "iat": .number(issued), "exp": .number(issued + 60),
                    ],
                    privateKeyPEM: key)
            else { return .finish(ProbeOutcome(.invalidMetadata, attr: "private_key")) }
            data["AUTHENTICATOR"] = "SNOWFLAKE_JWT"
            data["TOKEN"] = .string(jwt)
        } else {
            data["PASSWORD"] = .string(settings.password ?? "")
        }
        let body: JSONValue = ["data": .object(data)]
        return .send(
            HTTPCall(
                method: "POST", url: url, headers: [("Content-Type", "application/json"), ("Accept", "application/snowflake")],
                body: body.serialized(), caFile: caFile, stage: .auth))
    }

    func received(_ result: HTTPResult) -> HTTPStep {
        .finish(SnowflakeClassifier.login(result, keyPair: settings.privateKeyPEM != nil))
    }
}

/// Reads a login answer from `success` and Snowflake's numeric `code`, never the message.
enum SnowflakeClassifier {
    static func login(_ result: HTTPResult, keyPair: Bool) -> ProbeOutcome {
        guard result.succeeded else { return HTTPFailure.transport(result, attr: "account") }
        let json = try? JSONValue.parse(result.body)
        let code = json?["code"]?.stringValue
        let signal = "Snowflake \(code ?? "-") (HTTP \(result.status))"
        let secretAttr = keyPair ? "private_key" : "password"
        switch result.status {
        case 200:
            if json?["success"] == .bool(true) { return .ok }
        case 401, 403:
            // The drivers' reading: the account or host is wrong or blocked.
            return ProbeOutcome(
                .invalidMetadata, attr: "account", detail: "Snowflake refused the account; check the account identifier.", signal: signal,
                stage: .auth)
        case 429:
            return ProbeOutcome(.throttled, signal: signal, stage: .auth)
        case 500...599:
            return ProbeOutcome(.serverError, signal: signal, stage: .auth)
        default:
            return ProbeOutcome(.protocolError, signal: signal, stage: .auth)
        }
        switch code {
        case "390100", "390144", "394300", "394303", "394304", "394305", "394306", "390195", "390303", "390318":
            return ProbeOutcome(.authFailed, attr: secretAttr, detail: "Snowflake refused the credentials.", signal: signal, stage: .auth)
        case "394301", "394302":
            return ProbeOutcome(
                .clockSkew, attr: secretAttr, detail: "Snowflake says the key-pair token is outside its validity window.", signal: signal,
                stage: .auth)
        case "390102", "390103", "390104":
            return ProbeOutcome(.permissionDenied, attr: "user", detail: "The user may not log in.", signal: signal, stage: .auth)
        case "390400":
            return ProbeOutcome(.protocolError, signal: signal, stage: .auth)
        default:
            return ProbeOutcome(.authFailed, attr: secretAttr, detail: "Snowflake refused the login.", signal: signal, stage: .auth)
        }
    }
}
