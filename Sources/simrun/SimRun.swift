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
        // Line-buffered standard output, also to a pipe or a file (CI, a pod's log): progress and
        // headers appear as they are printed, not when the process exits.
        lineBufferStandardOutput()
        refuseNegativeNumbers(Array(CommandLine.arguments.dropFirst()))
        do {
            var command = try parseAsRoot()
            try command.run()
            exitCheckingOutput(0)
        } catch let exit as ExitCode {
            exitCheckingOutput(exit.rawValue)
        } catch {
            guard exitCode(for: error) == .validationFailure else { self.exit(withError: error) }
            let message = self.message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
            FileHandle.standardError.write(Data("simrun: error: \(oneLine(message)) (see simrun --help)\n".utf8))
            Foundation.exit(2)
        }
    }

    /// Exits with `code`, unless what was printed could not be written (a full disk, a closed
    /// pipe): that is reported, exit code 2.
    static func exitCheckingOutput(_ code: Int32) -> Never {
        if standardOutputFailed() {
            FileHandle.standardError.write(Data("simrun: error: cannot write to standard output (\(String(cString: strerror(errno))))\n".utf8))
            Foundation.exit(2)
        }
        Foundation.exit(code)
    }

    /// `--seed -1`: the parser would take `-1` for an option and say the value is missing; every
    /// numeric option of simrun is unsigned, so say that instead.
    static func refuseNegativeNumbers(_ arguments: [String]) {
        for (option, value) in zip(arguments, arguments.dropFirst()) where option.hasPrefix("--") && value.count > 1 && value.hasPrefix("-") {
            if value.dropFirst().first.map({ $0.isNumber || $0 == "." }) == true {
                FileHandle.standardError.write(Data("simrun: error: \(oneLine(option)): expected a number of 0 or more, got '\(oneLine(value))'\n".utf8))
                Foundation.exit(2)
            }
        }
    }
}
