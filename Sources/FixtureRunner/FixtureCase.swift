import ConnectorCore
import Foundation
import Yams

/// What a fixture case expects of its test.
public struct Expectation: Sendable, Equatable {
    public var status: Int
    public var code: String
    public var attr: String?
    public var stage: String?

    public init(status: Int, code: String, attr: String? = nil, stage: String? = nil) {
        self.status = status
        self.code = code
        self.attr = attr
        self.stage = stage
    }
}

/// One fixture: credentials to test and the verdict they must get.
public struct FixtureCase: Sendable {
    /// `file.yaml: case name`.
    public var name: String
    public var connectorID: String
    public var metadata: JSONValue
    public var timeout: Duration?
    public var expect: Expectation
}

/// A fixture file or case that cannot be used.
public struct FixtureError: Error, Sendable, CustomStringConvertible {
    public var description: String
}

/// Reads `*.yaml` fixture files. A file holds `cases:` (a list) and optional `defaults:` merged
/// into each case (`connector_id`, `timeout`); strings may use `${NAME}` for environment values.
public enum FixtureLoader {
    /// Loads every case of every `.yaml`/`.yml` file in `directory`, in file-name order.
    /// - Throws: ``FixtureError`` naming the file and case at fault, including an unset variable.
    public static func load(directory: String, environment: [String: String]) throws -> [FixtureCase] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory)
            .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
        guard !names.isEmpty else { throw FixtureError(description: "\(directory) holds no .yaml fixture files") }
        return try names.flatMap { name in
            let text = try String(contentsOfFile: "\(directory)/\(name)", encoding: .utf8)
            return try parse(text, file: name, environment: environment)
        }
    }

    /// Parses one fixture file.
    public static func parse(_ text: String, file: String, environment: [String: String]) throws -> [FixtureCase] {
        let document: JSONValue
        do {
            document = try json(from: Yams.load(yaml: text) as Any)
        } catch let error as FixtureError {
            throw FixtureError(description: "\(file): \(error.description)")
        } catch {
            throw FixtureError(description: "\(file): not valid YAML (\(error))")
        }
        let defaults = document["defaults"]?.objectValue ?? [:]
        guard case .array(let cases)? = document["cases"] else {
            throw FixtureError(description: "\(file): needs a 'cases:' list")
        }
        return try cases.enumerated().map { index, value in
            guard case .object(var fields) = value else {
                throw FixtureError(description: "\(file): case \(index + 1) is not a mapping")
            }
            fields.merge(defaults) { own, _ in own }
            let caseName = "\(file): \(fields["name"]?.stringValue ?? "case \(index + 1)")"
            do {
                return try makeCase(fields, name: caseName, environment: environment)
            } catch let error as FixtureError {
                throw FixtureError(description: "\(caseName): \(error.description)")
            }
        }
    }

    private static func makeCase(_ fields: [String: JSONValue], name: String, environment: [String: String]) throws -> FixtureCase {
        guard let id = fields["connector_id"]?.stringValue else { throw FixtureError(description: "missing connector_id") }
        let metadata = try interpolate(fields["connector_metadata"] ?? .object([:]), environment: environment)
        guard case .object(let expect)? = fields["expect"],
            case .number(let statusNumber)? = expect["status"], let status = Int(exactly: statusNumber),
            let code = expect["code"]?.stringValue
        else {
            throw FixtureError(description: "needs expect: {status, code} with a whole-number status")
        }
        var timeout: Duration?
        if case .number(let seconds)? = fields["timeout"] {
            guard let checked = Duration.checkedSeconds(seconds) else {
                throw FixtureError(description: "timeout must be a positive number of seconds")
            }
            timeout = checked
        }
        return FixtureCase(
            name: name, connectorID: id, metadata: metadata, timeout: timeout,
            expect: Expectation(
                status: status, code: code, attr: expect["attr"]?.stringValue, stage: expect["stage"]?.stringValue))
    }

    /// Replaces `${NAME}` in every string with the environment's value.
    static func interpolate(_ value: JSONValue, environment: [String: String]) throws -> JSONValue {
        switch value {
        case .string(let text):
            var output = ""
            var rest = Substring(text)
            while let open = rest.range(of: "${") {
                guard let close = rest[open.upperBound...].firstIndex(of: "}") else { break }
                let variable = String(rest[open.upperBound..<close])
                guard let replacement = environment[variable] else {
                    throw FixtureError(description: "environment variable \(variable) is not set (run under scripts/services.sh env)")
                }
                output += rest[..<open.lowerBound] + replacement
                rest = rest[rest.index(after: close)...]
            }
            return .string(output + rest)
        case .array(let items):
            return .array(try items.map { try interpolate($0, environment: environment) })
        case .object(let members):
            return .object(try members.mapValues { try interpolate($0, environment: environment) })
        default:
            return value
        }
    }

    private static func json(from value: Any) throws -> JSONValue {
        switch value {
        case is NSNull: return .null
        case let flag as Bool: return .bool(flag)
        case let number as Int: return .number(Double(number))
        case let number as Double: return .number(number)
        case let text as String: return .string(text)
        case let items as [Any]: return .array(try items.map(json))
        case let members as [String: Any]: return .object(try members.mapValues(json))
        case let members as [AnyHashable: Any]:
            return .object(
                try Dictionary(uniqueKeysWithValues: members.map { (String(describing: $0.key), try json(from: $0.value)) }))
        default:
            if "\(value)" == "<null>" || "\(value)" == "nil" { return .null }
            throw FixtureError(description: "unsupported YAML value \(type(of: value))")
        }
    }
}
