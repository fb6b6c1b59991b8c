import ArgumentParser
import Chaos
import SimKernel

/// The command line of the simulator: thin, argument parsing and output only.
@main
struct SimRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simrun",
        abstract: "Deterministic simulator of the SynapseNet ML platform.",
        discussion: """
            Every run is a pure function of (scenario, seed, defects, fault options, simulator version):
            the same inputs give the same event trace and the same 64-bit fingerprint.

            Exit codes: 0 passed; 1 the run found a failure; 2 bad input; 3 the simulator itself broke.
            """,
        subcommands: [ScenarioCommand.self, ReplayCommand.self, ExploreCommand.self, MergeCommand.self, ShrinkCommand.self, ReportCommand.self, ListCommand.self,
                      CheckDeterminismCommand.self, BenchCommand.self, ExploreWorkerCommand.self]
    )
}
