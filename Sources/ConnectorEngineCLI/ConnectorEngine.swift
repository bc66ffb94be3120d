import ArgumentParser

/// `connector-engine`: serve the API, test credentials, check stored ones, run fixtures, benchmark probes.
@main
struct ConnectorEngine: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "connector-engine",
        abstract: "Store, share and test connector credentials.",
        subcommands: [Serve.self, TestCommand.self, HealthCommand.self, Fixtures.self, Bench.self, BenchCrypto.self, Admin.self])
}
