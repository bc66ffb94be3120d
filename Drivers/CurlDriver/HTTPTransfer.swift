import CCertificate
import CCurl
import Foundation
import Glibc
import LinuxIO

/// One HTTP request to send with libcurl, pinned to an address the engine approved.
public struct HTTPRequestSpec: Sendable {
    public var method: String
    /// Absolute `http(s)://host[:port]/path?query` (already percent-encoded).
    public var url: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// The address curl must connect to for the URL's host and port (no lookup of its own).
    public var address: IPAddress
    /// PEM bundle to verify the server with; nil uses the system's.
    public var caFile: String?

    public init(
        method: String, url: String, headers: [(name: String, value: String)] = [], body: [UInt8] = [], address: IPAddress,
        caFile: String? = nil
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.address = address
        self.caFile = caFile
    }
}

/// What came back.
public struct HTTPResult: Sendable {
    /// libcurl's result code (`CURLE_OK` is 0): the structured signal of a transport failure.
    public let curlCode: Int32
    /// The errno of a failed connect, if libcurl reported one.
    public let osErrno: Int
    public let status: Int
    public let headers: [(name: String, value: String)]
    public let body: [UInt8]
    /// Microseconds from the start to: TCP connected, TLS done, first response byte, end.
    public let connectMicros: Int64
    public let tlsMicros: Int64
    public let firstByteMicros: Int64
    public let totalMicros: Int64
    /// The socket was refused because its address was not the approved one.
    public let addressRefused: Bool
    /// When the server's TLS certificate expires (seconds since 1970); nil without TLS.
    public let peerCertificateNotAfter: Int64?

    public init(
        curlCode: Int32, osErrno: Int = 0, status: Int = 0, headers: [(name: String, value: String)] = [], body: [UInt8] = [],
        connectMicros: Int64 = 0, tlsMicros: Int64 = 0, firstByteMicros: Int64 = 0, totalMicros: Int64 = 0,
        addressRefused: Bool = false, peerCertificateNotAfter: Int64? = nil
    ) {
        self.peerCertificateNotAfter = peerCertificateNotAfter
        self.curlCode = curlCode
        self.osErrno = osErrno
        self.status = status
        self.headers = headers
        self.body = body
        self.connectMicros = connectMicros
        self.tlsMicros = tlsMicros
        self.firstByteMicros = firstByteMicros
        self.totalMicros = totalMicros
        self.addressRefused = addressRefused
    }

    public var succeeded: Bool { curlCode == 0 }

    /// The first value of a response header (case-insensitive name).
    public func header(_ name: String) -> String? {
        let lowered = name.lowercased()
        return headers.first { $0.name.lowercased() == lowered }?.value
    }
}

/// What a transfer waits for next.
public enum TransferStep {
    case wait(fd: Int32, events: IOEvents)
    case finished(HTTPResult)
}

/// Process-wide libcurl initialization (not thread-safe in libcurl, so done once, up front).
public enum Curl {
    private static let initialized: Bool = curl_global_init(Int(CURL_GLOBAL_ALL)) == CURLE_OK
    public static func initialize() -> Bool { initialized }
    /// libcurl's text for a result code; names no host and holds no secret.
    public static func describe(_ code: Int32) -> String { String(cString: curl_easy_strerror(CURLcode(UInt32(code)))) }
}

/// A single HTTP transfer on its own multi handle, driven by socket readiness through curl's
/// multi *socket* interface: the owner waits on the descriptor curl names and calls ``resume(fd:events:)``;
/// there is no thread per transfer and no `curl_multi_perform` loop.
public final class HTTPTransfer {
    private let multi: UnsafeMutableRawPointer
    private let easy: UnsafeMutableRawPointer
    private var headerList: UnsafeMutablePointer<curl_slist>?
    private var resolveList: UnsafeMutablePointer<curl_slist>?
    private let expected: IPAddress

    // Filled by the callbacks.
    fileprivate var socket: (fd: Int32, events: IOEvents)?
    fileprivate var timerMilliseconds: Int = -1
    fileprivate var responseBody: [UInt8] = []
    fileprivate var responseHeaders: [(name: String, value: String)] = []
    fileprivate var addressRefused = false
    /// Read from the TLS session when the response starts (curl's session pointer is only
    /// valid while the connection is in use).
    fileprivate var peerCertificateNotAfter: Int64?
    fileprivate static let maxBody = 256 * 1024
    /// The most response header bytes read; past it the transfer fails (curl code 23).
    public static let maxHeaderBytes = 32 * 1024
    fileprivate var responseHeaderBytes = 0

    private var result: HTTPResult?
    private var closed = false

    /// - Throws: ``CurlError`` when libcurl cannot be set up.
    public init(_ spec: HTTPRequestSpec) throws(CurlError) {
        guard Curl.initialize(), let multi = curl_multi_init() else { throw CurlError("libcurl could not be initialized") }
        guard let easy = curl_easy_init() else {
            curl_multi_cleanup(multi)
            throw CurlError("libcurl could not create a transfer")
        }
        self.multi = multi
        self.easy = easy
        self.expected = spec.address
        try configure(spec)
    }

    private func configure(_ spec: HTTPRequestSpec) throws(CurlError) {
        let me = Unmanaged.passUnretained(self).toOpaque()
        var failed = false
        func check(_ code: CURLcode) { if code != CURLE_OK { failed = true } }
        check(ccurl_setopt_string(easy, CURLOPT_URL, spec.url))
        check(ccurl_setopt_string(easy, CURLOPT_CUSTOMREQUEST, spec.method))
        if spec.method == "HEAD" { check(ccurl_setopt_long(easy, CURLOPT_NOBODY, 1)) }
        // Pin host:port to the approved address; never a proxy; never follow redirects.
        guard let host = Self.hostAndPort(spec.url) else { throw CurlError("the URL has no host") }
        let target = spec.address.description.contains(":") ? "[\(spec.address)]" : spec.address.description
        resolveList = curl_slist_append(nil, "\(host.host):\(host.port):\(target)")
        check(ccurl_setopt_list(easy, CURLOPT_RESOLVE, resolveList))
        check(ccurl_setopt_string(easy, CURLOPT_PROXY, ""))
        check(ccurl_setopt_string(easy, CURLOPT_NOPROXY, "*"))
        check(ccurl_setopt_long(easy, CURLOPT_FOLLOWLOCATION, 0))
        check(ccurl_setopt_long(easy, CURLOPT_NOSIGNAL, 1))
        check(ccurl_setopt_long(easy, CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_1_1)))
        check(ccurl_setopt_string(easy, CURLOPT_PROTOCOLS_STR, "http,https"))
        check(ccurl_setopt_long(easy, CURLOPT_SSL_VERIFYPEER, 1))
        check(ccurl_setopt_long(easy, CURLOPT_SSL_VERIFYHOST, 2))
        if let caFile = spec.caFile { check(ccurl_setopt_string(easy, CURLOPT_CAINFO, caFile)) }
        // Our deadline bounds the transfer; curl's own timers stay off.
        check(ccurl_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, 0))
        check(ccurl_setopt_long(easy, CURLOPT_TIMEOUT_MS, 0))
        for (name, value) in spec.headers { headerList = curl_slist_append(headerList, "\(name): \(value)") }
        // No `Expect: 100-continue` round trip, no Accept-Encoding surprises.
        headerList = curl_slist_append(headerList, "Expect:")
        check(ccurl_setopt_list(easy, CURLOPT_HTTPHEADER, headerList))
        if !spec.body.isEmpty || spec.method == "POST" || spec.method == "PUT" {
            // curl copies the body (COPYPOSTFIELDS), so nothing here must outlive this call.
            check(ccurl_setopt_offset(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(spec.body.count)))
            var body = spec.body
            if body.isEmpty { body = [0] }
            body.withUnsafeMutableBytes { buffer in
                check(ccurl_setopt_pointer(easy, CURLOPT_COPYPOSTFIELDS, buffer.baseAddress))
            }
        }
        check(ccurl_setopt_write_function(easy, CURLOPT_WRITEFUNCTION, curlWrite))
        check(ccurl_setopt_pointer(easy, CURLOPT_WRITEDATA, me))
        check(ccurl_setopt_write_function(easy, CURLOPT_HEADERFUNCTION, curlHeader))
        check(ccurl_setopt_pointer(easy, CURLOPT_HEADERDATA, me))
        check(ccurl_setopt_opensocket_function(easy, curlOpenSocket))
        check(ccurl_setopt_pointer(easy, CURLOPT_OPENSOCKETDATA, me))
        guard ccurl_multi_setopt_socket_function(multi, curlSocket) == CURLM_OK,
            ccurl_multi_setopt_pointer(multi, CURLMOPT_SOCKETDATA, me) == CURLM_OK,
            ccurl_multi_setopt_timer_function(multi, curlTimer) == CURLM_OK,
            ccurl_multi_setopt_pointer(multi, CURLMOPT_TIMERDATA, me) == CURLM_OK
        else { throw CurlError("libcurl rejected the multi settings") }
        if failed { throw CurlError("libcurl rejected a transfer setting") }
    }

    /// Starts the transfer.
    public func start() -> TransferStep {
        guard curl_multi_add_handle(multi, easy) == CURLM_OK else { return .finished(finish(code: CURLE_FAILED_INIT)) }
        return act(on: CURL_SOCKET_TIMEOUT, mask: 0)
    }

    /// Continues after `fd` reported `events`.
    public func resume(fd: Int32, events: IOEvents) -> TransferStep {
        var mask: Int32 = 0
        if events.contains(.readable) { mask |= CURL_CSELECT_IN }
        if events.contains(.writable) { mask |= CURL_CSELECT_OUT }
        if events.contains(.error) || events.contains(.hangup) { mask |= CURL_CSELECT_ERR }
        return act(on: fd, mask: mask)
    }

    /// Microseconds to TCP connect and to TLS done so far (0 while not reached).
    public var progress: (connected: Bool, tlsDone: Bool) {
        var connect: curl_off_t = 0
        var tls: curl_off_t = 0
        _ = ccurl_getinfo_offset(easy, CURLINFO_CONNECT_TIME_T, &connect)
        _ = ccurl_getinfo_offset(easy, CURLINFO_APPCONNECT_TIME_T, &tls)
        return (connect > 0, tls > 0)
    }

    private func act(on fd: Int32, mask: Int32) -> TransferStep {
        var descriptor = fd
        var mask = mask
        // A zero timer means "call me again now"; anything else waits on the socket.
        for _ in 0..<64 {
            var running: Int32 = 0
            let code = curl_multi_socket_action(multi, descriptor, mask, &running)
            if code != CURLM_OK { return .finished(finish(code: CURLE_FAILED_INIT)) }
            if let done = completed() { return .finished(done) }
            if timerMilliseconds == 0 {
                timerMilliseconds = -1
                descriptor = CURL_SOCKET_TIMEOUT
                mask = 0
                continue
            }
            if let socket { return .wait(fd: socket.fd, events: socket.events) }
            // No socket to wait on and a timer still pending: run the timer now rather than spin.
            descriptor = CURL_SOCKET_TIMEOUT
            mask = 0
        }
        return .finished(finish(code: CURLE_OPERATION_TIMEDOUT))
    }

    private func completed() -> HTTPResult? {
        var left: Int32 = 0
        while let message = curl_multi_info_read(multi, &left) {
            var code = CURLE_OK
            if ccurl_message_done(message, &code) != nil { return finish(code: code) }
        }
        return nil
    }

    private func finish(code: CURLcode) -> HTTPResult {
        if let result { return result }
        var status = 0
        var osErrno = 0
        var connect: curl_off_t = 0
        var tls: curl_off_t = 0
        var firstByte: curl_off_t = 0
        var total: curl_off_t = 0
        _ = ccurl_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
        _ = ccurl_getinfo_long(easy, CURLINFO_OS_ERRNO, &osErrno)
        _ = ccurl_getinfo_offset(easy, CURLINFO_CONNECT_TIME_T, &connect)
        _ = ccurl_getinfo_offset(easy, CURLINFO_APPCONNECT_TIME_T, &tls)
        _ = ccurl_getinfo_offset(easy, CURLINFO_STARTTRANSFER_TIME_T, &firstByte)
        _ = ccurl_getinfo_offset(easy, CURLINFO_TOTAL_TIME_T, &total)
        let done = HTTPResult(
            curlCode: Int32(code.rawValue), osErrno: osErrno, status: status, headers: responseHeaders, body: responseBody,
            connectMicros: Int64(connect), tlsMicros: Int64(tls), firstByteMicros: Int64(firstByte), totalMicros: Int64(total),
            addressRefused: addressRefused, peerCertificateNotAfter: peerCertificateNotAfter)
        result = done
        return done
    }

    /// Releases the handles and any socket curl still holds. Idempotent.
    public func close() {
        guard !closed else { return }
        closed = true
        curl_multi_remove_handle(multi, easy)
        curl_easy_cleanup(easy)
        curl_multi_cleanup(multi)
        curl_slist_free_all(headerList)
        curl_slist_free_all(resolveList)
    }

    deinit { close() }

    fileprivate func admits(_ address: IPAddress?) -> Bool { address == expected }

    fileprivate func readPeerCertificate() {
        let seconds = ccertificate_peer_not_after(ccurl_tls_ssl_ptr(easy))
        if seconds >= 0 { peerCertificateNotAfter = Int64(seconds) }
    }

    /// The host and port an `http(s)://` URL names (the scheme's port when none is given).
    public static func hostAndPort(_ url: String) -> (host: String, port: Int)? {
        guard let schemeEnd = url.range(of: "://") else { return nil }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        let rest = url[schemeEnd.upperBound...]
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        let hostPort = authority.split(separator: "@").last.map(String.init) ?? String(authority)
        let defaultPort = scheme == "https" ? 443 : 80
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else { return nil }
            let host = String(hostPort[hostPort.index(after: hostPort.startIndex)..<close])
            let after = hostPort[hostPort.index(after: close)...]
            let port = after.hasPrefix(":") ? Int(after.dropFirst()) : defaultPort
            return port.map { (host, $0) }
        }
        let parts = hostPort.split(separator: ":", maxSplits: 1)
        guard let host = parts.first, !host.isEmpty else { return nil }
        let port = parts.count == 2 ? Int(parts[1]) : defaultPort
        return port.map { (String(host), $0) }
    }
}

/// Why a transfer could not be set up.
public struct CurlError: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

// MARK: libcurl callbacks (C function pointers; the transfer travels as the user pointer)

private func transfer(_ pointer: UnsafeMutableRawPointer?) -> HTTPTransfer? {
    pointer.map { Unmanaged<HTTPTransfer>.fromOpaque($0).takeUnretainedValue() }
}

private let curlSocket: curl_socket_callback = { _, fd, what, user, _ in
    guard let owner = transfer(user) else { return 0 }
    switch what {
    case CURL_POLL_REMOVE:
        if owner.socket?.fd == fd { owner.socket = nil }
    case CURL_POLL_IN: owner.socket = (fd, .readable)
    case CURL_POLL_OUT: owner.socket = (fd, .writable)
    default: owner.socket = (fd, [.readable, .writable])
    }
    return 0
}

private let curlTimer: curl_multi_timer_callback = { _, milliseconds, user in
    transfer(user)?.timerMilliseconds = milliseconds
    return 0
}

private let curlWrite: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int = {
    data, size, count, user in
    let length = size * count
    guard let owner = transfer(user), let data else { return length }
    let room = HTTPTransfer.maxBody - owner.responseBody.count
    if room > 0 {
        data.withMemoryRebound(to: UInt8.self, capacity: length) { bytes in
            owner.responseBody.append(contentsOf: UnsafeBufferPointer(start: bytes, count: min(room, length)))
        }
    }
    return length
}

private let curlHeader: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int = {
    data, size, count, user in
    let length = size * count
    guard let owner = transfer(user), let data else { return length }
    owner.responseHeaderBytes += length
    // Returning less than was given makes curl stop with CURLE_WRITE_ERROR.
    guard owner.responseHeaderBytes <= HTTPTransfer.maxHeaderBytes else { return 0 }
    let line = data.withMemoryRebound(to: UInt8.self, capacity: length) {
        String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
    }.trimmingCharacters(in: .whitespacesAndNewlines)
    if line.hasPrefix("HTTP/") {
        owner.responseHeaders = []  // a new response (after 100 Continue)
        if owner.peerCertificateNotAfter == nil { owner.readPeerCertificate() }
    } else if let colon = line.firstIndex(of: ":") {
        let name = String(line[..<colon]).trimmingCharacters(in: .whitespaces)
        let value = String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
        owner.responseHeaders.append((name, value))
    }
    return length
}

/// Opens the socket curl asks for only if its address is the approved one.
private let curlOpenSocket: curl_opensocket_callback = { user, _, address in
    guard let owner = transfer(user), let address else { return CURL_SOCKET_BAD }
    let peer = withUnsafePointer(to: &address.pointee.addr) { IPAddress.from(sockaddr: $0) }
    guard owner.admits(peer) else {
        owner.addressRefused = true
        return CURL_SOCKET_BAD
    }
    let fd = Glibc.socket(address.pointee.family, address.pointee.socktype | Int32(SOCK_CLOEXEC.rawValue), address.pointee.protocol)
    return fd < 0 ? CURL_SOCKET_BAD : fd
}
