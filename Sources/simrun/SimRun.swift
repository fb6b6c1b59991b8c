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
        version: "simrun \(ScenarioRunner.simulatorVersion)",
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
        keepFreedMemory()
        refuseNegativeNumbers(Array(CommandLine.arguments.dropFirst()))
        suggestSubcommand(Array(CommandLine.arguments.dropFirst()))
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

    /// `simrun scenari ...`: the parser would only say the argument is unexpected; name the
    /// subcommand that was meant when one is within two edits (or starts with what was typed).
    static func suggestSubcommand(_ arguments: [String]) {
        guard let first = arguments.first, !first.hasPrefix("-") else { return }
        let names = configuration.subcommands.map { $0.configuration.commandName ?? "" }.filter { !$0.isEmpty && $0 != "explore-worker" }
        guard first != "help", !configuration.subcommands.contains(where: { $0.configuration.commandName == first }) else { return }
        let typed = first.lowercased()
        let close = names.map { ($0, editDistance(typed, $0)) }.filter { $0.1 <= 2 || $0.0.hasPrefix(typed) }.sorted { ($0.1, $0.0) < ($1.1, $1.0) }
        let hint = close.first.map { ". Did you mean '\($0.0)'?" } ?? " (subcommands: \(names.joined(separator: ", ")))"
        FileHandle.standardError.write(Data("simrun: error: unknown subcommand '\(oneLine(first))'\(hint) (see simrun --help)\n".utf8))
        Foundation.exit(2)
    }

    /// Levenshtein distance (insertions, deletions, substitutions).
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        guard !a.isEmpty, !b.isEmpty else { return a.count + b.count }
        var previous = Array(0 ... b.count)
        for i in 1 ... a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1 ... b.count {
                current[j] = Swift.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
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

/// glibc's `mallopt` (declared in malloc.h, which the Glibc module leaves out) and its parameters.
@_silgen_name("mallopt") private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
private let mallocTrimThreshold: Int32 = -1, mallocTopPad: Int32 = -2, mallocMmapThreshold: Int32 = -3

/// Keeps freed memory in the process instead of handing it back to the system. A run grows and
/// regrows large arrays (the simulated disks' files, logs, SQLite pages); by default glibc serves
/// each large block with a fresh mapping and unmaps it when freed, so a regrowth faults in and
/// zeroes new pages (scenario 03, seed 42: 9,880 page faults by default, 6,980 with this).
/// Memory layout never reaches a simulation (nothing is ordered by address), so this changes
/// speed only.
func keepFreedMemory() {
    #if os(Linux)
    _ = glibcMallopt(mallocMmapThreshold, 512 << 20)  // blocks up to 512 MiB from the heap, reused when freed
    _ = glibcMallopt(mallocTrimThreshold, 1 << 30)    // never give the heap's top back below 1 GiB free
    _ = glibcMallopt(mallocTopPad, 64 << 20)          // grow the heap 64 MiB at a time
    #endif
}
