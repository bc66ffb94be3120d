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
            guard let root = try Yams.compose(yaml: text) else { throw FixtureError(description: "the file is empty") }
            document = try json(from: root)
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

    /// Variables a fixture may read: only these, so a fixture file from elsewhere cannot read
    /// the runner's other environment (its tokens, its cloud credentials) into a request.
    public static let variablePrefix = "CE_"

    /// Replaces `${NAME}` in every string with the environment's value; `NAME` must start with
    /// ``variablePrefix``.
    static func interpolate(_ value: JSONValue, environment: [String: String]) throws -> JSONValue {
        switch value {
        case .string(let text):
            var output = ""
            var rest = Substring(text)
            while let open = rest.range(of: "${") {
                guard let close = rest[open.upperBound...].firstIndex(of: "}") else { break }
                let variable = String(rest[open.upperBound..<close])
                guard variable.hasPrefix(variablePrefix) else {
                    throw FixtureError(description: "${\(variable)}: fixtures may only read variables named \(variablePrefix)*")
                }
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

    /// The JSON form of a YAML node. A mapping that repeats a key is an error naming the key
    /// (a dictionary would trap on it); aliases are refused, as fixtures need none.
    private static func json(from node: Node) throws -> JSONValue {
        switch node {
        case .scalar(let scalar):
            if scalar.style != .plain { return .string(scalar.string) }
            if node.null != nil { return .null }
            if let flag = node.bool { return .bool(flag) }
            if let number = node.int { return .number(Double(number)) }
            if let number = node.float { return .number(number) }
            return .string(node.string ?? "")
        case .sequence(let items):
            return .array(try items.map(json))
        case .mapping(let pairs):
            var members: [String: JSONValue] = [:]
            for (key, value) in pairs {
                let name = key.string ?? ""
                guard members[name] == nil else { throw FixtureError(description: "the key '\(name)' appears twice in one mapping") }
                members[name] = try json(from: value)
            }
            return .object(members)
        case .alias:
            throw FixtureError(description: "YAML aliases are not supported")
        }
    }
}
