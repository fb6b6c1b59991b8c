import ArgumentParser
import Chaos
import Foundation
import SimKernel
import SimServices

struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Re-run a seed file; succeed only on the same outcome and fingerprint.",
        discussion: "Exit codes: 0 the run matches the file, 1 it does not, 2 bad input, 3 simulator fault.")

    @Argument(help: "Path of a seed file.")
    var file: String

    @Option(help: "Write the replayed run's trace to FILE: Chrome Trace Event JSON if it ends in .json (opens in Perfetto UI), else JSON lines.")
    var trace: String?

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() throws {
        let (seedFile, scenario) = loadSeedFile(file)
        let sinks = traceSinks(trace)
        if seedFile.simulatorVersion != ScenarioRunner.simulatorVersion && !json {
            print("note: recorded with simulator \(seedFile.simulatorVersion), replaying with \(ScenarioRunner.simulatorVersion)")
        }
        let verdict = Replay.run(seedFile, scenario: scenario, sinks: sinks)
        checkTraceSinks(sinks)
        if json {
            print("{\"matches\":\(verdict.matches),\"outcome\":\(jsonEscaped(verdict.result.outcome.kind)),\"fingerprint\":\"\(hex64(verdict.result.fingerprint))\",\"recorded_fingerprint\":\"\(seedFile.fingerprint)\",\"wall_seconds\":\(verdict.result.wallSeconds)}")
        } else {
            print("SEED=\(seedFile.seed) scenario=\(seedFile.scenario) defects=\(DefectSet(seedFile.defects)) faults=\(seedFile.faults.summary)")
            print("outcome: \(verdict.result.outcome.kind) [\(verdict.result.outcome.checker ?? "-")]  recorded: \(seedFile.outcome.kind) [\(seedFile.outcome.checker ?? "-")]")
            print("fingerprint: \(hex64(verdict.result.fingerprint))  recorded: \(seedFile.fingerprint)  wall: \(format3(verdict.result.wallSeconds))s")
            print(verdict.matches ? "replay: identical" : "replay: DIFFERS: " + verdict.differences.joined(separator: "; "))
        }
        if verdict.result.outcome.kind == "simulator_fault" { throw ExitCode(3) }
        throw ExitCode(verdict.matches ? 0 : 1)
    }
}

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List scenarios or defects.")

    @Argument(help: "What to list: scenarios or defects.")
    var what: String

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() throws {
        if json {
            switch what {
            case "scenarios":
                let rows = ScenarioLoader.shippedNames().map { name -> String in
                    let scenario = try? ScenarioLoader.load(nameOrPath: name)
                    return "{\"name\":\(jsonEscaped(name)),\"loads\":\(scenario != nil),\"defects\":[\((scenario?.defects ?? []).map { jsonEscaped($0.rawValue) }.joined(separator: ","))],"
                        + "\"checks\":[\((scenario?.checks ?? []).map(jsonEscaped).joined(separator: ","))],\"summary\":\(jsonEscaped(scenario?.summary ?? ""))}"
                }
                print("[\(rows.joined(separator: ","))]")
            case "defects":
                let rows = DefectCatalogue.entries.map { entry in
                    "{\"id\":\(jsonEscaped(entry.id.rawValue)),\"title\":\(jsonEscaped(entry.title)),\"symptom\":\(jsonEscaped(entry.symptom)),\"scenario\":\(jsonEscaped(entry.scenario)),\"checker\":\(jsonEscaped(entry.checker))}"
                }
                print("[\(rows.joined(separator: ","))]")
            default:
                exitBadInput("list: unknown subject '\(what)' (use scenarios or defects)")
            }
            return
        }
        switch what {
        case "scenarios":
            for name in ScenarioLoader.shippedNames() {
                let summary = (try? ScenarioLoader.load(nameOrPath: name))?.summary ?? "(does not load)"
                print("\(name)  \(summary)")
            }
        case "defects":
            for entry in DefectCatalogue.entries {
                print("\(entry.id.rawValue)\t\(entry.title)\n\tsymptom: \(entry.symptom)\n\tscenario: \(entry.scenario), checker: \(entry.checker)")
            }
        default:
            exitBadInput("list: unknown subject '\(what)' (use scenarios or defects)")
        }
    }
}

struct CheckDeterminismCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-determinism",
        abstract: "Run a seed twice and report the first event where the runs diverge, if any (exit 3 if they do).")

    @Argument(help: "Scenario name or path.")
    var name: String

    @Option(help: "Root seed.")
    var seed: UInt64 = 42

    @OptionGroup var selection: RunSelection

    @Flag(help: "Print one JSON object.")
    var json = false

    @Flag(help: "Also run the seed in two fresh processes (each with its own hash seed: SWIFT_DETERMINISTIC_HASHING removed) and compare their fingerprints with this one's.")
    var acrossProcesses = false

    func run() throws {
        let scenario = loadScenario(name)
        let configuration = selection.configuration(scenario, seed: seed)
        let defectSet = configuration.defects
        let report = DeterminismCheck.run(seed: seed, options: ScenarioRunner.options(for: configuration)) { ScenarioRunner.build($0, configuration) }
        if !json { print(report.description) }
        var deterministic = report.isDeterministic
        var processFingerprints: [String]?
        if acrossProcesses {
            let arguments = ["scenario", scenario.path, "--seed", "\(seed)", "--defects", defectSet.description,
                             "--faults", selection.faults ?? scenario.faultProfile.rawValue,
                             "--strategy", selection.strategy, "--json", "--no-seed-file", "--stop-at-first"]
                + (selection.buggify ? ["--buggify"] : [])  // the same run as this process's check
            var fingerprints: [String] = []
            for _ in 0 ..< 2 {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: executablePath())
                process.arguments = arguments
                var environment = ProcessInfo.processInfo.environment
                environment.removeValue(forKey: "SWIFT_DETERMINISTIC_HASHING")
                process.environment = environment
                let pipe = Pipe()
                process.standardOutput = pipe
                try process.run()
                let data = pipe.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
                fingerprints.append(object?["fingerprint"] as? String ?? "(no result)")
            }
            let here = hex64(report.fingerprints.0)
            let same = fingerprints.allSatisfy { $0 == here }
            if !json { print("across processes: \(fingerprints.joined(separator: ", ")) vs this process \(here): \(same ? "identical" : "DIFFERENT")") }
            deterministic = deterministic && same
            processFingerprints = fingerprints
        }
        if json {
            print("{\"deterministic\":\(deterministic),\"seed\":\(seed),\"fingerprints\":[\"\(hex64(report.fingerprints.0))\",\"\(hex64(report.fingerprints.1))\"],"
                + "\"events\":[\(report.eventCounts.0),\(report.eventCounts.1)],\"first_divergent_event\":\(report.firstDivergentEvent.map(String.init) ?? "null"),"
                + "\"process_fingerprints\":\(processFingerprints.map { "[" + $0.map(jsonEscaped).joined(separator: ",") + "]" } ?? "null")}")
        }
        throw ExitCode(deterministic ? 0 : 3)
    }
}
