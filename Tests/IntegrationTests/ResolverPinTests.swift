import Foundation
import Glibc
import MariaDBDriver
import Testing

extension LiveServiceTests {
    /// Issue 8 §5: Connector/C resolves the host name itself (its TLS check needs the name), so its
    /// lookup is pinned to the address the engine approved: no other address is ever contacted.
    @Suite struct ResolverPinTests {
        /// Drives a connection attempt to completion and returns the driver's error number.
        static func connect(host: String, address: String) throws -> UInt32 {
            let tls = MariaDBTLS(caFile: try LiveServices.value("CE_TLS_CA_FILE"), caDirectory: nil, verifyServerCertificate: true)
            let connection = MariaDBConnection(tls: tls)
            defer { connection.close() }
            var wait = connection.startConnect(
                host: host, address: address, port: Int(try LiveServices.value("CE_MARIADB_PORT"))!,
                user: try LiveServices.value("CE_MARIADB_USER"), password: try LiveServices.value("CE_MARIADB_PASSWORD"), database: nil)
            while !wait.isComplete {
                var events: Int16 = 0
                if wait.contains(.read) { events |= Int16(POLLIN) }
                if wait.contains(.write) { events |= Int16(POLLOUT) }
                var descriptor = pollfd(fd: connection.socket, events: events == 0 ? Int16(POLLIN) : events, revents: 0)
                _ = poll(&descriptor, 1, 5000)
                var ready: MariaDBWait = []
                if descriptor.revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 { ready.insert(.read) }
                if descriptor.revents & Int16(POLLOUT) != 0 { ready.insert(.write) }
                wait = connection.continueConnect(ready.isEmpty ? wait.intersection([.read, .write]) : ready)
            }
            return connection.errorNumber
        }

        @Test func theNameIsVerifiedButTheLookupAnswersTheApprovedAddress() throws {
            // The certificate names localhost: verified by name, reached at the pinned address.
            #expect(try Self.connect(host: "localhost", address: "127.0.0.1") == 0)
            // A name no resolver knows still reaches the pinned address (no 2005 "unknown host"),
            // where the certificate's name check refuses it (2026) before any credential is sent.
            #expect(try Self.connect(host: "pinned-name.invalid", address: "127.0.0.1") == 2026)
        }
    }
}
