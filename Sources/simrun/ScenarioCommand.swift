import ArgumentParser
import Chaos
import Foundation
import SimKernel
import SimServices

/// A one-line error for bad input; exits with code 2. Control characters from the input (a
/// newline in a field, a NUL in a path) are escaped, so the message stays one line.
func exitBadInput(_ message: String) -> Never {
    FileHandle.standardError.write(Data("simrun: error: \(oneLine(message))\n".utf8))
    exit(2)
}

/// `message` with control characters escaped (`\n`, `\u{0}`...).
func oneLine(_ message: String) -> String {
    var out = ""
    for scalar in message.unicodeScalars {
        switch scalar {
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if scalar.value < 0x20 || scalar.value == 0x7F || (0x80 ..< 0xA0).contains(scalar.value) || scalar.value == 0x2028 || scalar.value == 0x2029 {
                out += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out
}

/// Parses `--defects`: comma-separated catalogue IDs, or `none`.
/// A defect with no code path in the scenario (its service, workload or checker is missing) is
/// refused: switching it on could only pass silently.
func parseDefects(_ text: String?, scenario: Scenario) -> DefectSet {
    guard let text else { return DefectSet(scenario.defects) }
    if text == "none" { return .empty }
    guard !text.trimmingCharacters(in: .whitespaces).isEmpty else {
        exitBadInput("--defects: empty (give defect IDs, or none; leave the option out for the scenario's own list)")
    }
    var ids: [DefectID] = []
    for part in text.split(separator: ",", omittingEmptySubsequences: false) {
        let name = part.trimmingCharacters(in: .whitespaces).uppercased()
        guard let id = DefectID(rawValue: name) else {
            exitBadInput("--defects: unknown defect '\(part)' (known: \(DefectID.allCases.map(\.rawValue).joined(separator: ", ")), or none)")
        }
        if let why = scenario.whyDefectCannotFire(id) { exitBadInput("--defects: \(why) (scenario \(scenario.name))") }
        ids.append(id)
    }
    return DefectSet(ids)
}

/// The trace sink `--trace FILE` asks for (Chrome Trace Event JSON for `.json`, JSON lines else),
/// or none.
func traceSinks(_ path: String?) -> [TraceSink] {
    guard let path else { return [] }
    do {
        return [path.hasSuffix(".json") ? try ChromeTraceSink(path: path) : try JSONLinesTraceSink(path: path)]
    } catch { exitBadInput("--trace: \(error)") }
}

/// `value` as one JSON object with sorted keys (for scripts), or null if it cannot be encoded.
func structuredJSON<T: Encodable>(_ value: T) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    guard let data = try? encoder.encode(value) else { return "null" }
    return String(decoding: data, as: UTF8.self)
}

/// Exits with a one-line error if a trace sink failed to write its file.
func checkTraceSinks(_ sinks: [TraceSink]) {
    for case let sink as ChromeTraceSink in sinks { if let error = sink.error { exitBadInput("--trace: \(error)") } }
    for case let sink as JSONLinesTraceSink in sinks { if let error = sink.error { exitBadInput("--trace: \(error)") } }
}

func loadScenario(_ name: String) -> Scenario {
    do { return try ScenarioLoader.load(nameOrPath: name) } catch { exitBadInput(error.description) }
}

/// Loads a seed file and the scenario it was recorded on (embedded, or shipped and unchanged),
/// with every field checked against that scenario.
func loadSeedFile(_ path: String) -> (SeedFile, Scenario) {
    do { return try SeedFile.resolve(path: path) } catch { exitBadInput(error.description) }
}

/// Writes a file the way every output of simrun is written (`OutputFile`: only a regular or new
/// file is replaced, never half-written); a failure is bad input naming the option and the path.
func writeOutput(_ bytes: [UInt8], to path: String, option: String) {
    do { try OutputFile.write(bytes, to: path) } catch { exitBadInput("\(option): \(error)") }
}

/// Refuses an output path that could not be written, before any long work starts.
func checkOutputPath(_ path: String, option: String) {
    if let problem = OutputFile.problem(with: path) { exitBadInput("\(option): cannot write \(path.isEmpty ? "''" : path): \(problem)") }
}

/// Makes sure `folder` exists and takes new files (a probe file is created and removed).
func prepareOutputFolder(_ folder: String, option: String) {
    guard !folder.isEmpty else { exitBadInput("\(option): an empty path") }
    var isFolder: ObjCBool = false
    if FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder) {
        guard isFolder.boolValue else { exitBadInput("\(option): \(folder) is not a folder") }
    } else {
        do { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) } catch {
            exitBadInput("\(option): cannot create \(folder): \(error.localizedDescription)")
        }
    }
    let probe = (folder as NSString).appendingPathComponent(".simrun-probe-\(getpid())")
    let descriptor = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o644)
    guard descriptor >= 0 else { exitBadInput("\(option): cannot write into \(folder): \(String(cString: strerror(errno)))") }
    close(descriptor)
    unlink(probe)
}

/// Three decimals without Foundation's String(format:) locale concerns.
func format3(_ value: Double) -> String { String(format: "%.3f", value) }

struct ScenarioCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scenario",
        abstract: "Run one scenario with one seed.",
        discussion: """
            NAME is a scenario of Scenarios/ (see `simrun list scenarios`) or the path of a scenario file.
            Prints the seed and the resolved options, runs, and prints a summary. On a failure it prints
            the checker's message, the last events of the actors involved and the command that reproduces
            it, and writes a seed file (replay it with `simrun replay FILE`).
            Exit codes: 0 passed, 1 failure found, 2 bad input, 3 simulator fault.
            """)

    @Argument(help: "Scenario name or path of a scenario file.")
    var name: String

    @Option(help: "Root seed of the run (default: a new seed each run, printed first, so repeated runs add coverage; pass it back to reproduce).")
    var seed: UInt64?

    @OptionGroup var selection: RunSelection

    @Option(help: "Write the trace to FILE: Chrome Trace Event JSON if it ends in .json, else JSON lines.")
    var trace: String?

    @Option(help: "Folder for the seed file of a failure.")
    var seedsOut: String = "."

    @Flag(help: "Do not write a seed file.")
    var noSeedFile = false

    @Flag(help: "Print one JSON object instead of the readable summary.")
    var json = false

    @Flag(help: "Stop at the first safety violation (by default a single run goes on, collecting each checker's first finding until the hang, the goal or the horizon; explore always stops at the first).")
    var stopAtFirst = false

    func run() throws {
        let scenario = loadScenario(name)
        // determinism-ok: the root seed is chosen before the run, outside it, and printed.
        let seed = self.seed ?? UInt64.random(in: 1 ... 999_999_999)
        var configuration = selection.configuration(scenario, seed: seed)
        configuration.keepGoing = !stopAtFirst
        let defectSet = configuration.defects, strategy = configuration.strategy
        let sinks = traceSinks(trace)
        if !noSeedFile { prepareOutputFolder(seedsOut, option: "--seeds-out") }
        if !json {
            print("SEED=\(seed) scenario=\(scenario.name) defects=\(defectSet) strategy=\(strategy) keep-going=\(configuration.keepGoing) buggify=\(configuration.buggify) faults=\(configuration.faults.summary)")
            print("  nodes (\(scenario.topology.nodes.count)): \(scenario.topology.names.joined(separator: " "))")
            print("  workloads: \(scenario.workloads.map { type(of: $0).name }.joined(separator: ", "))  checks: \(scenario.checks.joined(separator: ", "))  horizon: \(scenario.durationSeconds) s, heal at \(configuration.faults.healAtMs) ms, converge within \(scenario.convergeWithinSeconds) s")
            for line in configuration.faults.settings { print("  \(line)") }
            for line in configuration.faults.schedule { print("  fault: \(line)") }
        }
        let progress = json || isatty(STDERR_FILENO) == 0 ? nil : TerminalProgress(horizonNanoseconds: scenario.durationSeconds * Nanos.second)
        let result = ScenarioRunner.run(configuration, sinks: sinks, progress: progress.map { meter in { meter.show(virtual: $0, events: $1) } })
        progress?.clear()
        checkTraceSinks(sinks)
        var seedPath: String?
        if result.outcome.isFailure && !noSeedFile {
            let file = SeedFile(configuration: configuration, result: result)
            let path = (seedsOut as NSString).appendingPathComponent(file.suggestedName)
            do { writeOutput(Array(try file.encoded()), to: path, option: "--seeds-out") } catch { exitBadInput("--seeds-out: \(error)") }
            seedPath = path
        }
        let virtualSeconds = Double(result.virtualNanoseconds) / 1e9
        if json {
            let fields = [
                "\"scenario\":\(jsonEscaped(scenario.name))", "\"seed\":\(seed)",
                "\"defects\":[\(defectSet.ids.map { jsonEscaped($0.rawValue) }.joined(separator: ","))]",
                "\"faults\":\(jsonEscaped(configuration.faults.summary))",
                "\"fault_options\":\(structuredJSON(configuration.faults))",
                "\"outcome\":\(jsonEscaped(result.outcome.kind))",
                "\"checker\":\(result.outcome.checker.map(jsonEscaped) ?? "null")",
                "\"message\":\(result.outcome.isFailure ? jsonEscaped(result.outcome.message) : "null")",
                "\"fingerprint\":\"\(hex64(result.fingerprint))\"", "\"events\":\(result.events)",
                "\"virtual_seconds\":\(virtualSeconds)", "\"wall_seconds\":\(result.wallSeconds)",
                "\"speedup\":\(result.wallSeconds > 0 ? virtualSeconds / result.wallSeconds : 0)",
                "\"final_accuracy\":\(result.finalAccuracy.map { "\($0)" } ?? "null")",
                "\"registered_version\":\(result.registeredVersion.map(jsonEscaped) ?? "null")",
                "\"stuck_barrier\":\(result.stuckBarrier.map { "{\"clock\":\($0.round),\"arrived\":\($0.arrived),\"of\":\($0.of)}" } ?? "null")",
                "\"nodes\":[\(result.nodes.map(jsonEscaped).joined(separator: ","))]",
                "\"services_up\":[\(result.servicesUp.map(jsonEscaped).joined(separator: ","))]",
                "\"serving\":\(result.serving.map(servingJSON) ?? "null")",
                "\"findings\":[\(result.findings.map { "{\"outcome\":\(jsonEscaped($0.kind)),\"checker\":\($0.checker.map(jsonEscaped) ?? "null"),\"virtual_ns\":\($0.time.map { "\($0)" } ?? "null"),\"message\":\(jsonEscaped($0.message))}" }.joined(separator: ","))]",
                "\"seed_file\":\(seedPath.map(jsonEscaped) ?? "null")",
            ]
            print("{" + fields.joined(separator: ",") + "}")
        } else {
            printSummary(result, configuration: configuration, seedPath: seedPath)
        }
        throw ExitCode(result.outcome.exitCode)
    }

    func servingJSON(_ serving: ServingSummary) -> String {
        let replicas = serving.replicas.map {
            "{\"node\":\(jsonEscaped($0.node)),\"resident_bytes\":\($0.residentBytes),\"peak_bytes\":\($0.peakBytes),\"budget_bytes\":\($0.budgetBytes),\"base_bytes\":\($0.baseBytes),\"cached_versions\":\($0.cachedVersions),\"evictions\":\($0.evictions),\"out_of_memory_kills\":\($0.outOfMemoryKills)}"
        }
        let verdict = serving.verdict.map { ",\"ab_verdict\":{\"arms\":\(jsonEscaped($0.arms)),\"comparisons\":\(jsonEscaped($0.comparisons))}" } ?? ""
        let batches = serving.batches.map { ",\"batches\":\($0.count),\"batched_requests\":\($0.requests)" } ?? ""
        return "{\"deployments\":\(serving.deployments),\"predictions\":\(serving.predictions),\"failed_predictions\":\(serving.failedPredictions)\(batches)\(verdict),\"replicas\":[\(replicas.joined(separator: ","))]}"
    }

    func printSummary(_ result: RunResult, configuration: RunConfiguration, seedPath: String?) {
        print("services up: \(result.servicesUp.count) of \(configuration.scenario.topology.presentServices.count)")
        if let serving = result.serving {
            func gib(_ bytes: Int) -> String { "\((Double(bytes) / Double(1 << 30) * 10).rounded() / 10) GiB" }
            print("serving: \(serving.deployments) versions deployed, \(serving.predictions) predictions answered, \(serving.failedPredictions) failed")
            if let batches = serving.batches { print("  batching: \(batches.requests) requests in \(batches.count) batches") }
            if let verdict = serving.verdict { print("  A/B verdict: arms (version:outcomes:conversions) \(verdict.arms); against control (version:z:significant) \(verdict.comparisons)") }
            for replica in serving.replicas {
                print("  \(replica.node): \(gib(replica.residentBytes)) resident (peak \(gib(replica.peakBytes)) of \(gib(replica.budgetBytes))), base \(gib(replica.baseBytes)) + \(replica.cachedVersions) cached versions, \(replica.evictions) evictions, \(replica.outOfMemoryKills) out-of-memory kills")
            }
        }
        if result.findings.count > 1 {
            print("findings, in order:")
            for (index, finding) in result.findings.enumerated() {
                print("  \(index + 1). \(finding.time.map { formatNanoseconds($0) } ?? "-") \(finding.kind) [\(finding.checker ?? "-")]: \(finding.message)")
            }
        }
        print("outcome: \(result.outcome.kind)")
        if result.outcome.isFailure {
            print("checker: \(result.outcome.checker ?? "-")")
            if let time = result.outcome.time { print("at: \(formatNanoseconds(time)) virtual") }
            print("message: \(result.outcome.message)")
            let involved = result.involvedActors
            let events = involved.isEmpty ? Array(result.recent.suffix(12))
                : result.recent.filter { r in involved.contains { r.actor.hasPrefix($0) || r.node == $0 || r.detail.contains($0) } }.suffix(12)
            if !result.workerClocks.isEmpty {
                let barrier = result.stuckBarrier.map { "; checkpoint barrier of clock \($0.round) stuck at \($0.arrived)/\($0.of)" } ?? ""
                print("training: worker clocks \(result.workerClocks) of \(configuration.effectiveScenario.platform.job.steps) steps, job \(result.finalAccuracy == nil ? "not completed" : "completed")\(barrier)")
            }
            print("last events before the first finding\(involved.isEmpty ? "" : " (\(involved.joined(separator: ", ")))"):")
            for record in events { print("  \(record.line)") }
            print("reproduce: \(configuration.reproduceCommand ?? "only the seed file (its faults are not the profile's for this seed): simrun replay FILE")")
            if let seedPath { print("seed file: \(seedPath)   (replay: swift run -c release simrun replay \(seedPath))") }
        } else if let accuracy = result.finalAccuracy {
            print("job: completed, held-out accuracy \(format3(accuracy)), loss \(result.finalLoss ?? 0), worker clocks \(result.workerClocks), registered as version \(result.registeredVersion ?? "?")")
        }
        let virtualSeconds = Double(result.virtualNanoseconds) / 1e9
        let speedup = result.wallSeconds > 0 ? virtualSeconds / result.wallSeconds : 0
        print("fingerprint: \(hex64(result.fingerprint))  events: \(result.events)  virtual: \(formatNanoseconds(result.virtualNanoseconds))  wall: \(format3(result.wallSeconds))s  (\(Int(speedup))x real time)")
    }
}
