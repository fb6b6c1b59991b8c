import ArgumentParser
import Chaos
import Foundation
import SimKernel
import SimServices

/// Parses `A..B` (inclusive, each 0...2^64-1) or a single seed `A`. The range is iterated, never
/// materialised; only the full range of 2^64 seeds (whose count does not fit a number) is refused.
func parseSeedRange(_ text: String) -> ClosedRange<UInt64> {
    let parts = text.components(separatedBy: "..")
    if parts.count == 1, let seed = UInt64(parts[0]) { return seed ... seed }
    guard parts.count == 2, let low = UInt64(parts[0]), let high = UInt64(parts[1]), low <= high else {
        exitBadInput("--seeds: expected A..B with 0 <= A <= B <= \(UInt64.max), got '\(text)'")
    }
    guard high - low < UInt64.max else { exitBadInput("--seeds: \(text) is 2^64 seeds; at most 2^64-1 in one range") }
    return low ... high
}

/// Parses `--shard I/N` (0 <= I < N <= 1,000,000).
func parseShard(_ text: String) -> (Int, Int) {
    let parts = text.split(separator: "/", omittingEmptySubsequences: false)
    guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]), (1 ... 1_000_000).contains(count), (0 ..< count).contains(index) else {
        exitBadInput("--shard: expected I/N with 0 <= I < N <= 1000000, got '\(text)'")
    }
    return (index, count)
}

struct ExploreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explore",
        abstract: "Run every seed of a range; store results in SQLite; write a seed file per failure.",
        discussion: """
            Seeds run in --jobs worker processes, one simulation at a time each: a seed whose run traps
            kills only its worker and is recorded as a crash. Results go to --results (SQLite, WAL, one
            row per seed). Interrupted (Ctrl-C, kill) and run again with the same command, it resumes:
            seeds already stored are skipped, none is counted twice. --shard I/N runs a deterministic
            slice of the range (for batch engines); `simrun merge` combines the result files.
            Exit codes: 0 no failure, 1 failures found, 2 bad input.
            """)

    @Argument(help: "Scenario name or path.")
    var name: String

    @Option(help: "Seed range A..B (inclusive).")
    var seeds: String

    @Option(help: "Worker processes running seeds at once.")
    var jobs: Int = 2

    @Option(help: "Results database (SQLite). Default: explore-<scenario>.sqlite")
    var results: String?

    @Option(help: "Run only slice I of N of the range (0 <= I < N).")
    var shard: String?

    @Option(help: "Folder for seed files of failures (created if missing).")
    var seedsOut: String = "explore-seeds"

    @OptionGroup var selection: RunSelection

    @Option(help: .hidden)
    var trapOnSeed: UInt64?

    @Flag(help: "Print one JSON object at the end instead of the summary.")
    var json = false

    /// SIGINT, SIGTERM and SIGHUP, blocked while exploring and taken by one waiting thread.
    static var interruptSignals: sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for number in [SIGINT, SIGTERM, SIGHUP] { sigaddset(&set, number) }
        return set
    }

    func run() throws {
        signal(SIGPIPE, SIG_IGN)  // a worker that dies must not take the explorer with it
        var blocked = Self.interruptSignals
        pthread_sigmask(SIG_BLOCK, &blocked, nil)
        let scenario = loadScenario(name)
        let range = parseSeedRange(seeds)
        guard (1 ... 256).contains(jobs) else { exitBadInput("--jobs: must be 1...256, got \(jobs)") }
        let shardSpec = shard.map(parseShard)
        let (defectSet, profile, resolved) = selection.resolve(scenario)
        let strategy = selection.strategy == "portfolio" ? "portfolio" : resolved.description  // a portfolio picks per seed
        let resultsPath = results ?? "explore-\(scenario.name).sqlite"
        checkOutputPath(resultsPath, option: "--results")
        let identity = ResultsStore.Identity(
            scenario: scenario.name, scenarioDigest: hex64(scenario.digest), defects: defectSet.description,
            faults: profile?.rawValue ?? scenario.faultProfile.rawValue, strategy: strategy + (selection.buggify ? "+buggify" : ""), simulatorVersion: ScenarioRunner.simulatorVersion)
        let store: ResultsStore
        do { store = try ResultsStore(path: resultsPath, identity: identity) } catch { exitBadInput("--results: \(error)") }
        prepareOutputFolder(seedsOut, option: "--seeds-out")  // after the database was accepted: a refusal creates nothing

        // The workers read the scenario file again: they check it is still the one whose digest
        // the database records (a file replaced meanwhile is refused, never explored half-and-half).
        var worker = [executablePath(), "explore-worker", scenario.path, "--scenario-digest", hex64(scenario.digest), "--defects", defectSet.description,
                      "--faults", identity.faults, "--strategy", selection.strategy, "--seeds-out", seedsOut]
        if let trapOnSeed { worker += ["--trap-on-seed", "\(trapOnSeed)"] }
        if selection.buggify { worker.append("--buggify") }
        let request = ExploreRequest(seeds: range, shard: shardSpec, jobs: jobs, resultsPath: resultsPath, workerCommand: worker)
        let explorer = Explorer(request: request, store: store)
        // Ctrl-C, kill or a closed terminal: stop starting seeds, kill the workers, keep what
        // finished, close the database, and say how to resume. The signals were blocked at the
        // start of `run` (so one arriving at any moment stays pending, none is lost), and one
        // thread takes them with sigwait. (Host tooling, not a simulation.)
        let waiter = Thread {  // determinism-ok: the explorer's host process, outside any simulation
            var signals = Self.interruptSignals
            var number: Int32 = 0
            if sigwait(&signals, &number) == 0 { explorer.interrupt() }
        }
        waiter.start()
        if !json {
            print("exploring \(scenario.name) seeds \(range.lowerBound)..\(range.upperBound)\(shard.map { " shard \($0)" } ?? "") with \(jobs) jobs: defects=\(defectSet) faults=\(identity.faults) strategy=\(strategy) results=\(resultsPath)")
        }
        let terminal = isatty(STDOUT_FILENO) != 0 && !json
        var lastLine = 0.0
        let start = KernelBenchmark.wallSeconds()
        let outcome: ExploreOutcome
        do { outcome = try explorer.run { progress in
            guard !json else { return }
            let now = KernelBenchmark.wallSeconds()
            if terminal {
                let width = 30, filled = progress.total == 0 ? width : width * progress.done / progress.total
                let left = progress.rate > 0 ? Double(progress.total - progress.done) / progress.rate : 0
                let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
                print("\r[\(bar)] \(progress.done)/\(progress.total) seeds  \(String(format: "%.1f", progress.rate))/s  failures \(progress.failures)  left \(Int(left))s   ", terminator: "")
                fflush(nil)  // all output streams: stdout is not concurrency-safe to name in Swift 6
                if progress.done == progress.total { print("") }
            } else if now - lastLine >= 5 || progress.done == progress.total {
                lastLine = now
                print("explored \(progress.done)/\(progress.total) seeds (\(String(format: "%.1f", progress.rate))/s), \(progress.failures) failures, \(progress.crashes) crashes\(progress.skipped > 0 ? ", \(progress.skipped) done before" : "")")
            }
        } } catch {
            store.close()
            exitBadInput("--results: \(error)")
        }
        store.close()
        let all = outcome.results
        let wall = KernelBenchmark.wallSeconds() - start
        for error in outcome.seedFileErrors {
            FileHandle.standardError.write(Data("simrun: warning: no seed file for \(oneLine(error))\n".utf8))
        }
        let failures = all.filter(\.isFailure)
        var byKind: [String: Int] = [:]
        for result in all { byKind["\(result.outcome)\(result.checker.map { "/\($0)" } ?? "")", default: 0] += 1 }
        if json {
            let counts = byKind.sorted { $0.key < $1.key }.map { "\(jsonEscaped($0.key)):\($0.value)" }.joined(separator: ",")
            let firstFailure = failures.first.map { "\($0.seed)" } ?? "null"
            let failing = failures.map { failure in
                "{\"seed\":\(failure.seed),\"outcome\":\(jsonEscaped(failure.outcome)),\"checker\":\(failure.checker.map(jsonEscaped) ?? "null"),"
                    + "\"message\":\(failure.message.map(jsonEscaped) ?? "null"),\"seed_file\":\(failure.seedFile.map(jsonEscaped) ?? "null")}"
            }.joined(separator: ",")
            print("{\"scenario\":\(jsonEscaped(scenario.name)),\"seeds\":\(all.count),\"failures\":\(failures.count),\"first_failure_seed\":\(firstFailure),\"outcomes\":{\(counts)},\"failing_seeds\":[\(failing)],\"wall_seconds\":\(wall),\"seeds_per_second\":\(Double(all.count) / max(wall, 1e-9)),\"results\":\(jsonEscaped(resultsPath))}")
        } else {
            print("outcomes: " + byKind.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
            for failure in failures.prefix(10) {
                print("  seed \(failure.seed): \(failure.outcome) [\(failure.checker ?? "-")] \(failure.message?.prefix(120) ?? "")\(failure.seedFile.map { "  -> \($0)" } ?? "")")
            }
            if failures.count > 10 { print("  ... and \(failures.count - 10) more (see \(resultsPath))") }
        }
        if outcome.interrupted {
            if terminal { print("") }
            FileHandle.standardError.write(Data("simrun: interrupted after \(all.count) seeds stored in \(oneLine(resultsPath)): rerun the same command to resume\n".utf8))
            throw ExitCode(130)
        }
        throw ExitCode(failures.isEmpty ? 0 : 1)
    }
}

/// The path of the running simrun executable.
func executablePath() -> String {
    URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
}

struct ExploreWorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explore-worker", abstract: "Internal: run seeds read from standard input (used by explore).", shouldDisplay: false)

    @Argument var name: String
    @OptionGroup var selection: RunSelection
    @Option var seedsOut: String?
    @Option var trapOnSeed: UInt64?
    @Option var scenarioDigest: String?

    func run() throws {
        signal(SIGPIPE, SIG_IGN)  // an explorer that died: its pipe's writes fail, and the worker ends quietly
        let scenario = loadScenario(name)
        if let scenarioDigest, hex64(scenario.digest) != scenarioDigest {
            exitBadInput("\(name): the scenario file changed while exploring (\(hex64(scenario.digest)) != \(scenarioDigest))")
        }
        _ = selection.resolve(scenario)  // bad options fail before the first seed arrives
        ExploreWorker.serve(make: { seed in selection.configuration(scenario, seed: seed) }, seedsOut: seedsOut, trapOnSeed: trapOnSeed)
    }
}

struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge", abstract: "Combine results databases of explorations (for example of several shards).")

    @Argument(help: "Results databases to merge.")
    var inputs: [String]

    @Flag(help: "Print one JSON object.")
    var json = false

    @Option(help: "The database to merge into (created if missing).")
    var into: String

    func run() throws {
        guard !inputs.isEmpty else { exitBadInput("merge: name at least one results database") }
        // Every input is opened read-only (immutable: nothing is created beside it) and checked
        // before the target is touched; the target is never one of the inputs; the rows go in
        // all or nothing, and a target made by a failed merge is removed.
        var sources: [ResultsStore] = []
        for input in inputs {
            do { sources.append(try ResultsStore(readingFrom: input)) } catch { exitBadInput("\(error)") }
        }
        checkOutputPath(into, option: "--into")
        var targetStatus = stat()
        let targetExisted = stat(into, &targetStatus) == 0
        if targetExisted {
            for input in inputs {
                var inputStatus = stat()
                if stat(input, &inputStatus) == 0 && inputStatus.st_dev == targetStatus.st_dev && inputStatus.st_ino == targetStatus.st_ino {
                    exitBadInput("--into: \(into) is also an input (\(input)); merge into another file")
                }
            }
        }
        let target: ResultsStore
        do { target = try ResultsStore(path: into, identity: nil) } catch { exitBadInput("--into: \(error)") }
        do {
            let added = try target.merge(from: sources)
            let all = try target.results()
            if json {
                print("{\"into\":\(jsonEscaped(into)),\"added\":{\(zip(inputs, added).map { "\(jsonEscaped($0.0)):\($0.1)" }.joined(separator: ","))},\"seeds\":\(all.count),\"failures\":\(all.filter(\.isFailure).count)}")
            } else {
                for (input, count) in zip(inputs, added) { print("\(input): \(count) seeds added") }
                print("\(into): \(all.count) seeds, \(all.filter(\.isFailure).count) failures")
            }
        } catch {
            target.close()
            if !targetExisted { for suffix in ["", "-wal", "-shm", "-journal"] { unlink(into + suffix) } }
            exitBadInput("\(error)")
        }
        target.close()
        for source in sources { source.close() }
    }
}
