import ConnectorCore
import LinuxIO
import PostgresDriver
import ProbeEngine

/// The probe drivers this build provides, by connector family.
public enum ProbeDrivers {
    public static let all: [ConnectorFamily: any ProbeDriver] = [
        .postgresql: PostgresProbeDriver(),
        .mysql: MySQLProbeDriver(),
        .mariadb: MySQLProbeDriver(),
        .s3: S3ProbeDriver(),
    ]
}

extension ProbeEngine {
    /// An engine with every probe of this build.
    /// - Throws: ``SystemError`` if the engine's threads cannot be set up.
    public static func standard(configuration: EngineConfiguration = EngineConfiguration()) throws(SystemError) -> ProbeEngine {
        PostgresEnvironment.isolate()
        return try ProbeEngine(configuration: configuration, drivers: ProbeDrivers.all)
    }
}

extension ProbeEngine {
    /// Shuts the engine down and removes the CA files its probes wrote. For a process's only
    /// engine: the trust store is shared by every engine in the process.
    public func shutdownAndRemoveFiles() {
        shutdown()
        TrustStore.shared.removeFiles()
    }
}
