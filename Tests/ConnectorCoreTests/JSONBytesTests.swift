import ConnectorCore
import Foundation
import JSONOracle
import Testing

@Suite struct JSONBytesTests {
    @Test func parsesWhatFoundationParsesToTheSameValue() throws {
        let documents = [
            #"{"a": [1, -2.5, 3e2, 0, -0.125, true, false, null], "b": {"c": "d"}, "e": ""}"#,
            #"["\"quoted\"", "back\\slash", "slash\/", "tab\t", "nl\n", "é", "\u00e9", "\ud83d\ude00", "\u0001"]"#,
            #"  {"nested": {"deeper": {"deepest": [[], {}]}}}  "#,
            "12345678901234", "-1", "\"plain\"",
        ]
        for document in documents {
            let ours = try JSONValue.parse(Array(document.utf8))
            let foundation = try JSONDecoder().decode(JSONValue.self, from: Data(document.utf8))
            #expect(ours == foundation, "\(document)")
            // Serializing and parsing again gives the same value; Foundation reads our output too.
            let text = ours.serialized()
            #expect(try JSONValue.parse(text) == ours)
            #expect(try JSONDecoder().decode(JSONValue.self, from: Data(text)) == ours)
        }
    }

    @Test func serializesCompactlyWithSortedKeysAndEscapes() {
        let value: JSONValue = ["b": 1, "a": [true, .null, .number(2.5)], "c": "q\"\\\n\u{01}/é"]
        #expect(String(decoding: value.serialized(), as: UTF8.self) == #"{"a":[true,null,2.5],"b":1,"c":"q\"\\\n\u0001/é"}"#)
    }

    @Test func rejectsWhatIsNotJSON() {
        let bad = [
            "", "{", "[1,]", "{\"a\" 1}", "01", "1.", "-", "tru", "\"open", "{} x", "\"\u{01}\"", "'single'", "[1 2]",
            #""\ud83d""#, #""\x""#, "{1: 2}", String(repeating: "[", count: 300) + String(repeating: "]", count: 300),
        ]
        for text in bad {
            #expect(throws: JSONValue.ParseError.self, "\(text.prefix(20))") { try JSONValue.parse(Array(text.utf8)) }
        }
        #expect(throws: JSONValue.ParseError.self) { try JSONValue.parse([0x22, 0xFF, 0x22]) }
    }
}
