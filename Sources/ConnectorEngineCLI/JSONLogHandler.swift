import ConnectorCore
import Foundation
import Logging

/// `serve --log-format json`: one JSON object per line on standard error — `ts` (UTC, ISO 8601
/// with milliseconds), `level`, `label`, `message`, `source` and the metadata as members. The
/// log lines hold no secret by construction (what is logged never does), whatever the format.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    init(label: String, level: Logger.Level, metadataProvider: Logger.MetadataProvider? = nil) {
        self.label = label
        self.logLevel = level
        self.metadataProvider = metadataProvider
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        FileHandle.standardError.write(Data(Self.line(event, label: label, metadata: merged(event.metadata)).utf8))
    }

    /// Handler metadata, then the provider's, then the event's: later ones win.
    private func merged(_ event: Logger.Metadata?) -> Logger.Metadata {
        var all = metadata
        if let provided = metadataProvider?.get() { all.merge(provided) { $1 } }
        if let event { all.merge(event) { $1 } }
        return all
    }

    static func line(_ event: LogEvent, label: String, metadata: Logger.Metadata, at date: Date = Date()) -> String {
        var members: [String: JSONValue] = [:]
        for (key, value) in metadata { members[key] = json(value) }
        members["ts"] = .string(UTCDateParts.iso8601(date, fractionDigits: 3))
        members["level"] = .string(event.level.rawValue)
        members["label"] = .string(label)
        members["message"] = .string(event.message.description)
        members["source"] = .string(event.source)
        return String(decoding: JSONValue.object(members).serialized(), as: UTF8.self) + "\n"
    }

    private static func json(_ value: Logger.Metadata.Value) -> JSONValue {
        switch value {
        case .string(let text): .string(text)
        case .stringConvertible(let convertible): .string(convertible.description)
        case .array(let values): .array(values.map(json))
        case .dictionary(let members): .object(members.mapValues(json))
        }
    }
}
