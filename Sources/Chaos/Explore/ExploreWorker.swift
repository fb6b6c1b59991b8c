import Foundation
import SimKernel
import SimServices

/// The worker side of an exploration: runs seeds one at a time (read from standard input, one per
/// line) and answers each with one JSON line. It runs in its own process, so a seed whose run traps
/// kills only the worker; the explorer records that seed as a crash and starts a new worker.
public enum ExploreWorker {
    /// Runs one seed and writes a seed file for a failure into `seedsOut`.
    public static func run(_ configuration: RunConfiguration, seedsOut: String?) -> SeedResult {
        // One run per seed: the seed file carries no events, and its replay re-runs the seed with
        // details and checks this run's fingerprint (a detailed second run here doubled the cost
        // of every failing seed).
        let result = ScenarioRunner.runWithoutDetails(configuration)
        var seedFile: String?, seedFileError: String?
        if result.outcome.isFailure, let seedsOut {
            let file = SeedFile(configuration: configuration, result: result)
            let path = (seedsOut as NSString).appendingPathComponent(file.suggestedName)
            do {
                try OutputFile.write(Array(try file.encoded()), to: path)
                seedFile = path
            } catch { seedFileError = "\(error)" }
        }
        return SeedResult(seed: configuration.seed, outcome: result.outcome.kind, checker: result.outcome.checker,
                          fingerprint: hex64(result.fingerprint), events: result.events,
                          virtualNanoseconds: result.virtualNanoseconds, wallSeconds: result.wallSeconds,
                          message: result.outcome.isFailure ? result.outcome.message : nil, seedFile: seedFile, seedFileError: seedFileError)
    }

    /// Serves seeds from standard input until it closes. `trapOnSeed` makes that seed's run trap
    /// (a test hook for crash isolation).
    public static func serve(make: (UInt64) -> RunConfiguration, seedsOut: String?, trapOnSeed: UInt64?) {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        while let line = readLine() {
            guard let seed = UInt64(line.trimmingCharacters(in: .whitespaces)) else { continue }
            if seed == trapOnSeed { fatalError("trap requested for seed \(seed) (--trap-on-seed)") }
            let result = run(make(seed), seedsOut: seedsOut)
            let data = (try? encoder.encode(result)) ?? Data("{}".utf8)
            // The explorer gone (killed): the write fails; end quietly rather than trap.
            guard (try? FileHandle.standardOutput.write(contentsOf: data + Data("\n".utf8))) != nil else { break }
        }
        // A clean end (input closed, or the explorer gone): the error file the explorer made for
        // this worker holds nothing worth keeping.
        if let errors = ProcessInfo.processInfo.environment["SIMRUN_WORKER_ERRORS"] { try? FileManager.default.removeItem(atPath: errors) }
    }
}
