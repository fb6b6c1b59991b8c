import ArgumentParser
import Chaos
import Foundation
import SimKernel

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a self-contained HTML page about one run of a seed file.",
        discussion: "The page shows the failure (the wait-for cycle or the violated invariant as a graph), the faults injected, a timeline per node and the command that reproduces it. It needs no network to open.")

    @Argument(help: "A seed file.")
    var file: String

    @Option(help: "Output HTML file (default: FILE with .html in place of .seed).")
    var html: String?

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() throws {
        let (seedFile, scenario) = loadSeedFile(file)
        let path = html ?? (file.hasSuffix(".seed") ? String(file.dropLast(5)) + ".html" : file + ".html")
        checkOutputPath(path, option: "--html")
        let configuration = seedFile.configuration(scenario: scenario)
        let (result, records, nodes) = ScenarioRunner.runRecorded(configuration)
        let page = HTMLReport.render(file: seedFile, path: file, configuration: configuration, result: result, records: records, nodes: nodes)
        writeOutput(Array(page.utf8), to: path, option: "--html")
        if json {
            print("{\"html\":\(jsonEscaped(path)),\"bytes\":\(page.utf8.count),\"outcome\":\(jsonEscaped(result.outcome.kind)),\"checker\":\(jsonEscaped(result.outcome.checker ?? "")),"
                + "\"fingerprint\":\"\(hex64(result.fingerprint))\",\"matches_seed_file\":\(hex64(result.fingerprint) == seedFile.fingerprint)}")
            return
        }
        print("wrote \(path) (\(page.utf8.count) bytes): \(result.outcome.kind) [\(result.outcome.checker ?? "-")]\(hex64(result.fingerprint) == seedFile.fingerprint ? "" : "  note: the run's fingerprint differs from the file's")")
    }
}
