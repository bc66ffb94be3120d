// swift-tools-version:6.0
import PackageDescription

/// Settings shared by every Swift target: Swift 6 language mode plus the upcoming features the
/// house style asks for.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "connector-engine",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "connector-engine", targets: ["ConnectorEngineCLI"])
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.0.0"),
        .package(url: "https://github.com/vapor/sql-kit.git", from: "3.36.0"),
        .package(url: "https://github.com/vapor/sqlite-kit.git", from: "4.5.2"),
        .package(url: "https://github.com/vapor/postgres-kit.git", from: "2.17.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        // MARK: C libraries (Drivers/): nothing outside Drivers/ imports these.
        .systemLibrary(
            name: "CLibPQ", path: "Drivers/CLibPQ", pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]),
        .systemLibrary(
            name: "CMariaDB", path: "Drivers/CMariaDB", pkgConfig: "libmariadb",
            providers: [.apt(["libmariadb-dev"])]),
        .systemLibrary(name: "CLinuxIO", path: "Drivers/CLinuxIO"),
        .systemLibrary(
            name: "CCurl", path: "Drivers/CCurl", pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]),

        // MARK: Swift drivers over the C libraries.
        .target(name: "LinuxIO", dependencies: ["CLinuxIO", "CResolver"], path: "Drivers/LinuxIO"),
        .target(
            name: "CCertificate", path: "Drivers/CCertificate",
            linkerSettings: [.linkedLibrary("ssl"), .linkedLibrary("crypto")]),
        .target(name: "PostgresDriver", dependencies: ["CLibPQ", "CCertificate"], path: "Drivers/PostgresDriver"),
        .target(name: "CResolver", path: "Drivers/CResolver", linkerSettings: [.linkedLibrary("dl")]),
        .target(name: "MariaDBDriver", dependencies: ["CMariaDB", "CResolver", "CCertificate"], path: "Drivers/MariaDBDriver"),
        .target(name: "CurlDriver", dependencies: ["CCurl", "LinuxIO", "CCertificate"], path: "Drivers/CurlDriver"),
        .target(name: "CTLS", path: "Drivers/CTLS", linkerSettings: [.linkedLibrary("ssl"), .linkedLibrary("crypto")]),
        .target(
            name: "PostgresWire",
            dependencies: [
                "CTLS", "CCertificate", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
            ],
            path: "Drivers/PostgresWire"),

        // MARK: The engine.
        .target(
            name: "ConnectorCore",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"), .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ]),
        .target(
            name: "Encryption",
            dependencies: ["LinuxIO", .product(name: "Crypto", package: "swift-crypto")]),
        .target(
            name: "CloudAuth",
            dependencies: [
                "ConnectorCore", "LinuxIO", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
            ]),
        .target(name: "SigV4", dependencies: ["ConnectorCore", .product(name: "Crypto", package: "swift-crypto")]),
        .target(
            name: "OAuthFlow",
            dependencies: ["ConnectorCore", "Encryption", "RedisClient", .product(name: "Crypto", package: "swift-crypto")]),
        .target(
            name: "RedisClient",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"), .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]),
        .target(
            name: "ConnectorStore",
            dependencies: [
                "ConnectorCore", "Encryption", "OAuthFlow",
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "SQLiteKit", package: "sqlite-kit"),
                .product(name: "PostgresKit", package: "postgres-kit"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        .target(
            name: "ProbeEngine",
            dependencies: [
                "ConnectorCore", "LinuxIO",
                .product(name: "Logging", package: "swift-log"),
            ]),
        .target(
            name: "Probes",
            dependencies: [
                "ConnectorCore", "ProbeEngine", "PostgresDriver", "PostgresWire", "MariaDBDriver", "CurlDriver", "SigV4", "CloudAuth",
                "LinuxIO", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        .target(
            name: "HealthChecks",
            dependencies: [
                "ConnectorCore", "ConnectorStore", "ProbeEngine",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        .target(
            name: "ConnectorAPI",
            dependencies: [
                "ConnectorCore", "ConnectorStore", "ProbeEngine", "Probes", "OAuthFlow", "HealthChecks",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            resources: [.copy("Resources/openapi.json")]),
        .target(
            name: "FixtureRunner",
            dependencies: [
                "ConnectorCore", "ProbeEngine",
                .product(name: "Yams", package: "Yams"),
            ]),
        .executableTarget(
            name: "ConnectorEngineCLI",
            dependencies: [
                "ConnectorCore", "ConnectorStore", "Encryption", "ProbeEngine", "Probes", "ConnectorAPI", "FixtureRunner", "LinuxIO",
                "OAuthFlow", "RedisClient", "HealthChecks", "PostgresWire",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]),

        // MARK: Tests: one target per module, live-service tests on their own.
        .target(
            name: "TestSupport",
            dependencies: [
                "ConnectorStore", "ConnectorCore", "Encryption", "JSONOracle", .product(name: "Logging", package: "swift-log"),
                .product(name: "SQLKit", package: "sql-kit"), .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"), .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Tests/TestSupport"),
        .target(name: "TestProcesses", path: "Tests/TestProcesses"),
        .target(name: "JSONOracle", dependencies: ["ConnectorCore"], path: "Tests/JSONOracle"),
        .testTarget(name: "ConnectorCoreTests", dependencies: ["ConnectorCore", "JSONOracle"]),
        .testTarget(name: "EncryptionTests", dependencies: ["Encryption", "LinuxIO"]),
        .testTarget(name: "SigV4Tests", dependencies: ["SigV4"]),
        .testTarget(name: "PostgresWireTests", dependencies: ["PostgresWire", .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(
            name: "CloudAuthTests",
            dependencies: ["CloudAuth", "ConnectorCore", "LinuxIO", "TestProcesses", .product(name: "CryptoExtras", package: "swift-crypto")]),
        .testTarget(
            name: "ConnectorStoreTests",
            dependencies: [
                "ConnectorStore", "ConnectorCore", "Encryption", "OAuthFlow", "TestSupport", "TestProcesses",
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(name: "ProbeEngineTests", dependencies: ["ProbeEngine", "ConnectorCore", "LinuxIO"]),
        .testTarget(
            name: "ProbesTests",
            dependencies: [
                "Probes", "ConnectorCore", "ProbeEngine", "PostgresDriver", "PostgresWire", "MariaDBDriver", "CurlDriver", "SigV4", "LinuxIO",
                .product(name: "Crypto", package: "swift-crypto"), .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"), .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SwiftASN1", package: "swift-asn1"), "TestProcesses",
            ]),
        .testTarget(name: "FixtureRunnerTests", dependencies: ["FixtureRunner", "ConnectorCore"]),
        .testTarget(name: "OAuthFlowTests", dependencies: ["OAuthFlow", "ConnectorCore"]),
        .testTarget(
            name: "HealthChecksTests",
            dependencies: ["HealthChecks", "ConnectorCore", "ConnectorStore", "ProbeEngine", "Probes", "Encryption", "TestSupport"]),
        .testTarget(
            name: "RedisClientTests",
            dependencies: [
                "RedisClient", "TestProcesses", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"), .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]),
        .testTarget(
            name: "ConnectorAPITests",
            dependencies: [
                "ConnectorAPI", "ConnectorCore", "ConnectorStore", "ProbeEngine", "Probes", "TestSupport", "OAuthFlow", "HealthChecks",
                "RedisClient", "JSONOracle", "TestProcesses", "Encryption",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "ConnectorAPI", "ConnectorCore", "ConnectorStore", "ProbeEngine", "Probes", "FixtureRunner", "PostgresDriver",
                "MariaDBDriver", "TestSupport", "TestProcesses", "JSONOracle", "Encryption", "OAuthFlow", "RedisClient", "HealthChecks",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]),
    ]
)

for target in package.targets where target.type != .system {
    target.swiftSettings = (target.swiftSettings ?? []) + swiftSettings
}
