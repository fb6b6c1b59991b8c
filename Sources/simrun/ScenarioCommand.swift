import ArgumentParser
import Foundation
import Chaos
import SimKernel

#if canImport(Glibc)
import Glibc
#endif

/// Scenario names the command accepts until the scenario files land; each runs the built-in
/// demonstration (see README).
let demoScenarios = ["05_distributed_training_hang"]
let knownDefects = ["A2"]

/// Parses `--defects`: a comma-separated list of catalogue IDs, or `none`.
func parseDefects(_ text: String?, default defaults: [String]) throws -> [String] {
    guard let text else { return defaults }
    if text == "none" { return [] }
    let ids = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).uppercased() }
    for id in ids where !knownDefects.contains(id) {
        throw BadInput("--defects: unknown defect '\(id)' (known: \(knownDefects.joined(separator: ", ")), or none)")
    }
    return ids
}

/// A one-line error for bad input; exits with code 2.
struct BadInput: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

func exitBadInput(_ error: BadInput) -> Never {
    FileHandle.standardError.write(Data("simrun: error: \(error.description)\n".utf8))
    exit(2)
}

func checkScenario(_ name: String) throws {
    guard demoScenarios.contains(name) else {
        throw BadInput("unknown scenario '\(name)' (known: \(demoScenarios.joined(separator: ", ")); see `simrun list scenarios`)")
    }
}

struct ScenarioCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scenario",
        abstract: "Run one scenario with one seed.",
        discussion: """
            Until the scenario files land, 05_distributed_training_hang runs the built-in demonstration:
            parameter-server shards on two nodes, three workers locking shards and pushing gradients over
            the simulated network. Its default defect A2 inverts the lock order on odd workers; the
            kernel's lock manager then reports the wait-for cycle. `--defects none` runs it correct.
            """)

    @Argument(help: "Scenario name (see `simrun list scenarios`).")
    var name: String

    @Option(help: "Root seed of the run.")
    var seed: UInt64 = 42

    @Option(help: "Comma-separated defect IDs to switch on, or 'none' (default: the scenario's own).")
    var defects: String?

    @Option(help: "Write the trace to FILE: Chrome Trace Event JSON if it ends in .json, else JSON lines.")
    var trace: String?

    @Flag(help: "Print one JSON object instead of the readable summary.")
    var json = false

    func run() throws {
        let activeDefects: [String]
        do {
            try checkScenario(name)
            activeDefects = try parseDefects(defects, default: ["A2"])
        } catch let error as BadInput { exitBadInput(error) }
        var sinks: [TraceSink] = []
        if let trace {
            do {
                sinks.append(trace.hasSuffix(".json") ? try ChromeTraceSink(path: trace) : try JSONLinesTraceSink(path: trace))
            } catch { exitBadInput(BadInput("--trace: \(error)")) }
        }
        if !json {
            print("SEED=\(seed) scenario=\(name) (built-in demonstration) defects=\(activeDefects.isEmpty ? "none" : activeDefects.joined(separator: ",")) faults=none")
        }
        let start = KernelBenchmark.wallSeconds()
        let result = DemoScenario.run(seed: seed, defects: activeDefects, trace: sinks)
        let wall = KernelBenchmark.wallSeconds() - start
        let virtualSeconds = Double(result.virtualNanoseconds) / 1e9
        if json {
            let fields = [
                "\"scenario\":\(jsonEscaped(name))", "\"seed\":\(seed)",
                "\"defects\":[\(activeDefects.map(jsonEscaped).joined(separator: ","))]",
                "\"outcome\":\(jsonEscaped(result.outcome.kind))",
                "\"checker\":\(result.outcome.checker.map(jsonEscaped) ?? "null")",
                "\"message\":\(result.outcome.isFailure ? jsonEscaped(result.outcome.message) : "null")",
                "\"fingerprint\":\"\(hex64(result.fingerprint))\"", "\"events\":\(result.events)",
                "\"virtual_seconds\":\(virtualSeconds)", "\"wall_seconds\":\(wall)", "\"seed_file\":null",
            ]
            print("{" + fields.joined(separator: ",") + "}")
        } else {
            print("outcome: \(result.outcome.kind)")
            if result.outcome.isFailure {
                print("checker: \(result.outcome.checker ?? "-")")
                print("message: \(result.outcome.message)")
                print("last events:")
                for record in result.recent.suffix(12) { print("  \(record.line)") }
                let defectList = activeDefects.isEmpty ? "none" : activeDefects.joined(separator: ",")
                print("reproduce: swift run -c release simrun scenario \(name) --seed \(seed) --defects \(defectList)")
            }
            print("fingerprint: \(hex64(result.fingerprint))  events: \(result.events)  virtual: \(formatNanoseconds(result.virtualNanoseconds))  wall: \(format3(wall))s")
        }
        throw ExitCode(result.outcome.exitCode)
    }
}

/// Three decimals without Foundation's String(format:).
func format3(_ value: Double) -> String {
    let scaled = Int64((value * 1000).rounded())
    let whole = scaled / 1000, fraction = abs(scaled % 1000)
    return "\(whole)." + (fraction < 10 ? "00" : fraction < 100 ? "0" : "") + "\(fraction)"
}

struct CheckDeterminismCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-determinism",
        abstract: "Run a seed twice and report the first event where the runs diverge, if any.")

    @Argument(help: "Scenario name.")
    var name: String

    @Option(help: "Root seed.")
    var seed: UInt64 = 42

    @Option(help: "Comma-separated defect IDs, or 'none'.")
    var defects: String?

    func run() throws {
        let activeDefects: [String]
        do {
            try checkScenario(name)
            activeDefects = try parseDefects(defects, default: ["A2"])
        } catch let error as BadInput { exitBadInput(error) }
        let report = DeterminismCheck.run(seed: seed) { DemoScenario.build($0, defects: activeDefects) }
        print(report.description)
        throw ExitCode(report.isDeterministic ? 0 : 3)
    }
}

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List scenarios or defects.")

    @Argument(help: "What to list: scenarios or defects.")
    var what: String

    func run() throws {
        switch what {
        case "scenarios":
            print("05_distributed_training_hang  built-in demonstration: sharded parameter servers, lock-ordering deadlock (A2)")
        case "defects":
            print("A2  lock-ordering deadlock: odd workers take shard locks in reverse order  [05_distributed_training_hang]")
        default:
            exitBadInput(BadInput("list: unknown subject '\(what)' (use scenarios or defects)"))
        }
    }
}
