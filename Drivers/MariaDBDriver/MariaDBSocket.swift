import Glibc

/// Socket calls the MariaDB driver needs for clean-up.
enum MariaDBSocket {
    static func shutDown(_ fd: Int32) {
        _ = shutdown(fd, Int32(SHUT_RDWR))
    }
}
