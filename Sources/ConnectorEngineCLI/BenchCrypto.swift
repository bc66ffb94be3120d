import ArgumentParser
import Foundation
import LinuxIO
import PostgresWire

/// `connector-engine bench-crypto`: SCRAM's PBKDF2 (PostgreSQL's 4,096 iterations) from each
/// crypto library linked here, side by side in one run, to choose the one the probes use.
struct BenchCrypto: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-crypto", abstract: "Time SCRAM's PBKDF2-HMAC-SHA-256 with OpenSSL and with BoringSSL.",
        shouldDisplay: false)

    @Option(name: .short, help: "Derivations per library and round.")
    var n = 200

    @Option(help: "PBKDF2 iterations (PostgreSQL's default is 4096).")
    var iterations = 4096

    func run() {
        // A salt of 16 random bytes, as a PostgreSQL server makes one.
        var generator = SystemRandomNumberGenerator()
        let salt = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        // Alternated rounds, so that a slower moment of the machine hits both alike.
        var seconds: [PBKDF2: Double] = [:]
        for _ in 0..<3 {
            for library in [PBKDF2.openSSL, .boringSSL] {
                let started = ProcessClock.cpuSeconds()
                for index in 0..<n {
                    _ = library.sha256(password: Array("password-\(index)".utf8), salt: salt, iterations: iterations)
                }
                seconds[library, default: 0] += ProcessClock.cpuSeconds() - started
            }
        }
        for library in [PBKDF2.openSSL, .boringSSL] {
            let perDerivation = (seconds[library] ?? 0) * 1000 / Double(3 * n)
            print("\(library): \(String(format: "%.3f", perDerivation)) ms of CPU per derivation (\(iterations) iterations, \(3 * n) derivations)")
        }
    }
}
