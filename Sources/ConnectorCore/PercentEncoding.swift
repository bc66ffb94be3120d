import Foundation

/// RFC 3986 percent-encoding of URL components and form fields: every byte outside the
/// unreserved set `A-Z a-z 0-9 - _ . ~` becomes `%XX` (upper-case hex), as SigV4 requires and as
/// every form and query decoder accepts.
public enum PercentEncoding {
    private static let unreserved = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~".utf8)
    private static let hexDigits = Array("0123456789ABCDEF".utf8)

    /// `text` encoded; `keepingSlash` leaves `/` as is (for paths).
    public static func encode(_ text: String, keepingSlash: Bool = false) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            if unreserved.contains(byte) || (keepingSlash && byte == UInt8(ascii: "/")) {
                out.append(byte)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(hexDigits[Int(byte >> 4)])
                out.append(hexDigits[Int(byte & 0x0F)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `name=value&…` with names and values encoded (`application/x-www-form-urlencoded`).
    public static func form(_ fields: [(String, String)]) -> String {
        fields.map { encode($0.0) + "=" + encode($0.1) }.joined(separator: "&")
    }
}

/// Base64url without padding (RFC 4648 §5), as JWTs and URL-safe tokens use it.
public enum Base64URL {
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var text = Data(bytes).base64EncodedString()
        text = text.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        return text.replacingOccurrences(of: "=", with: "")
    }
}
