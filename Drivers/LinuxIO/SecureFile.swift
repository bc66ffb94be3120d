import CLinuxIO
import Glibc

/// Files that hold secrets.
public enum SecureFile {
    /// Creates `path` with `contents`, readable and writable by the owner only (mode 0600), failing
    /// if the file already exists (`O_EXCL`), so that a secret is never written into a file
    /// someone else prepared.
    /// - Throws: ``SystemError`` with the failing call's errno.
    public static func createExclusive(path: String, contents: [UInt8]) throws(SystemError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SystemError(call: "open", errno: errno) }
        defer { close(fd) }
        var written = 0
        while written < contents.count {
            let result = contents[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if result < 0 {
                if errno == EINTR { continue }
                throw SystemError(call: "write", errno: errno)
            }
            written += result
        }
        guard fsync(fd) == 0 else { throw SystemError(call: "fsync", errno: errno) }
    }

    /// The permission bits of `path` (e.g. 0o600), or `nil` if it cannot be read.
    public static func permissions(of path: String) -> UInt32? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return UInt32(info.st_mode) & 0o777
    }
}
