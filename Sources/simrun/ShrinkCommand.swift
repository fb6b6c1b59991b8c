import ArgumentParser
import Chaos
import Foundation
import SimKernel

struct ShrinkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shrink",
        abstract: "Delta-debug a failing seed file to fewer faults and a shorter workload.",
        discussion: "Writes FILE with .shrunk.seed in place of .seed (or --output); it replays like any seed file.")

    @Argument(help: "A seed file of a failing run.")
    var file: String

    @Option(help: "Where to write the shrunk seed file.")
    var output: String?

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() throws {
        let (seedFile, scenario) = loadSeedFile(file)
        guard seedFile.outcome.kind != "passed" else { exitBadInput("\(file): outcome: the run passed; there is nothing to shrink") }
        let path = output ?? (file.hasSuffix(".seed") ? String(file.dropLast(5)) + ".shrunk.seed" : file + ".shrunk")
        checkOutputPath(path, option: "--output")
        let report = Shrinker.shrink(seedFile, scenario: scenario)
        guard report.shrunk.outcome.kind == seedFile.outcome.kind, report.shrunk.outcome.checker == seedFile.outcome.checker else {
            exitBadInput("\(file): outcome: the recorded \(seedFile.outcome.kind) [\(seedFile.outcome.checker ?? "-")] does not reproduce (the run now ends \(report.shrunk.outcome.kind)); nothing was written")
        }
        do { writeOutput(Array(try report.shrunk.encoded()), to: path, option: "--output") } catch { exitBadInput("--output: \(error)") }
        if json {
            print("{\"file\":\(jsonEscaped(path)),\"runs\":\(report.runs),\"outcome\":\(jsonEscaped(report.shrunk.outcome.kind)),\"checker\":\(jsonEscaped(report.shrunk.outcome.checker ?? "")),"
                + "\"faults_before\":\(report.atomsBefore.count),\"faults_after\":[\(report.atomsAfter.map { jsonEscaped($0.description) }.joined(separator: ","))],"
                + "\"workload_steps_before\":\(report.stepsBefore),\"workload_steps_after\":\(report.stepsAfter),"
                + "\"events_before\":\(report.eventsBefore),\"events_after\":\(report.shrunk.events),\"fingerprint\":\(jsonEscaped(report.shrunk.fingerprint))}")
            return
        }
        print("shrunk \(file) in \(report.runs) runs: outcome \(report.shrunk.outcome.kind) [\(report.shrunk.outcome.checker ?? "-")] kept")
        print("faults: \(report.atomsBefore.count) -> \(report.atomsAfter.count)" + (report.atomsAfter.isEmpty ? " (fails without any fault)" : ": " + report.atomsAfter.map(\.description).joined(separator: ", ")))
        if report.stepsBefore > 0 { print("workload: \(report.stepsBefore) -> \(report.stepsAfter) iterations per worker") }
        print("events to the first finding: \(report.eventsBefore) -> \(report.shrunk.events)")
        print("wrote \(path)   (replay: swift run -c release simrun replay \(path))")
    }
}
