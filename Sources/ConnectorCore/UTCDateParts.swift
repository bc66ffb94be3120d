import Foundation

/// The UTC calendar fields of an instant, computed with integer arithmetic (days to civil date,
/// after Howard Hinnant's algorithm): formatters and `Calendar` cost more than the rest of a
/// request on the hot paths that print timestamps.
public struct UTCDateParts: Sendable, Equatable {
    public let year: Int
    public let month: Int
    public let day: Int
    public let hour: Int
    public let minute: Int
    public let second: Int
    public let microsecond: Int

    public init(_ date: Date) {
        let micros = Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
        let seconds = micros >= 0 ? micros / 1_000_000 : (micros - 999_999) / 1_000_000
        microsecond = Int(micros - seconds * 1_000_000)
        var days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = Int(seconds - days * 86_400)
        hour = secondOfDay / 3600
        minute = secondOfDay / 60 % 60
        second = secondOfDay % 60
        days += 719_468
        let era = (days >= 0 ? days : days - 146_096) / 146_097
        let dayOfEra = days - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        day = Int(dayOfYear - (153 * monthIndex + 2) / 5 + 1)
        month = Int(monthIndex < 10 ? monthIndex + 3 : monthIndex - 9)
        year = Int(yearOfEra + era * 400 + (month <= 2 ? 1 : 0))
    }

    /// ISO 8601 in UTC with `Z`: `2026-11-29T20:10:37.123456Z` with 6 fraction digits (as Django
    /// REST framework renders datetimes), or milliseconds with 3.
    public static func iso8601(_ date: Date, fractionDigits: Int = 6) -> String {
        let parts = UTCDateParts(date)
        let fraction = fractionDigits >= 6 ? parts.microsecond : parts.microsecond / 1000
        return padded(parts.year, 4) + "-" + padded(parts.month, 2) + "-" + padded(parts.day, 2) + "T" + padded(parts.hour, 2) + ":"
            + padded(parts.minute, 2) + ":" + padded(parts.second, 2) + "." + padded(fraction, fractionDigits >= 6 ? 6 : 3) + "Z"
    }

    /// `value` in decimal, left-padded with zeros to `width` digits.
    public static func padded(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }
}
