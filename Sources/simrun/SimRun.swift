import ArgumentParser
import Chaos
import Foundation
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

    /// Parses and runs. A mistake on the command line is bad input like any other: one line on
    /// standard error naming the problem, exit code 2 (not ArgumentParser's 64 with a usage dump).
    /// `--help` and a command's own exit codes pass through unchanged.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let exit as ExitCode {
            Foundation.exit(exit.rawValue)
        } catch {
            guard exitCode(for: error) == .validationFailure else { self.exit(withError: error) }
            let message = self.message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
            FileHandle.standardError.write(Data("simrun: error: \(message) (see simrun --help)\n".utf8))
            Foundation.exit(2)
        }
    }
}
