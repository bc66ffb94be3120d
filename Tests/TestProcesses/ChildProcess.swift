import Glibc

/// A system call a test helper made that failed, with its `errno`.
public struct SystemCallError: Error, CustomStringConvertible {
    public let call: String
    public let code: Int32
    public var description: String { "\(call): \(String(cString: strerror(code)))" }
}

/// A child process started with `posix_spawn`, for tests that run a binary (the CLI, pg_dump,
/// openssl, redis-server). Foundation's `Process.run()` crashes now and then on Swift 6.3
/// (swift-corelibs-foundation #5472); this keeps to three system calls and owns every descriptor.
public final class ChildProcess: @unchecked Sendable {
    /// Where a child's standard output or error goes.
    public enum Output: Sendable {
        /// `/dev/null`.
        case discard
        /// A channel read by ``readOutput()``; output and errors both captured share it.
        case capture
    }

    public let pid: pid_t
    private var outputFD: Int32
    private var exitStatus: Int32?

    /// Starts `executable` (an absolute path) with `arguments`; standard input is `/dev/null`.
    /// `environment` nil inherits this process's.
    public init(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil, output: Output = .discard,
        errors: Output = .discard
    ) throws {
        var pipeFDs: [Int32] = [-1, -1]
        let capturing = output == .capture || errors == .capture
        // A socket pair rather than pipe2 (which Glibc's module does not export): close-on-exec
        // from birth, so a child spawned meanwhile by another test cannot hold it open.
        if capturing, socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pipeFDs) != 0 {
            throw SystemCallError(call: "socketpair", code: errno)
        }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        for (fd, choice) in [(Int32(1), output), (Int32(2), errors)] {
            switch choice {
            case .discard: posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", O_WRONLY, 0)
            case .capture: posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], fd)
            }
        }

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let envp = environment.map { $0.map { strdup("\($0.key)=\($0.value)") } + [nil] }
        defer { envp?.forEach { free($0) } }

        var child: pid_t = 0
        let result =
            envp.map { posix_spawn(&child, executable, &actions, nil, argv, $0) }
            ?? posix_spawn(&child, executable, &actions, nil, argv, environ)
        if capturing { close(pipeFDs[1]) }
        guard result == 0 else {
            if capturing { close(pipeFDs[0]) }
            throw SystemCallError(call: "posix_spawn \(executable)", code: result)
        }
        pid = child
        outputFD = capturing ? pipeFDs[0] : -1
    }

    deinit {
        if outputFD >= 0 { close(outputFD) }
    }

    /// The captured output to its end (the child closed it, usually by exiting); empty when
    /// nothing is captured.
    public func readOutput() -> String {
        guard outputFD >= 0 else { return "" }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(outputFD, $0.baseAddress, $0.count) }
            if count > 0 {
                bytes.append(contentsOf: buffer[0..<count])
            } else if count < 0, errno == EINTR {
                continue
            } else {
                break
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Waits for the child to exit: its exit status, or 128 + the signal that ended it.
    @discardableResult
    public func wait() -> Int32 {
        if let exitStatus { return exitStatus }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        let code = Self.exitCode(status)
        exitStatus = code
        return code
    }

    /// Whether the child has not exited yet (reaping it if it has).
    public var isRunning: Bool {
        guard exitStatus == nil else { return false }
        var status: Int32 = 0
        guard waitpid(pid, &status, WNOHANG) == pid else { return true }
        exitStatus = Self.exitCode(status)
        return false
    }

    /// Sends `signal` to the child, unless it has already been reaped (its PID may be reused).
    public func send(_ signal: Int32) {
        guard exitStatus == nil else { return }
        kill(pid, signal)
    }

    /// Runs `executable` to its end: the exit status and what it wrote to the captured streams.
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil, output: Output = .capture,
        errors: Output = .discard
    ) throws -> (status: Int32, output: String) {
        let child = try ChildProcess(executable, arguments, environment: environment, output: output, errors: errors)
        let text = child.readOutput()
        return (child.wait(), text)
    }

    private static func exitCode(_ status: Int32) -> Int32 {
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }
}
