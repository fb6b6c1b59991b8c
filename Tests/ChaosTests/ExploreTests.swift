import Foundation
import XCTest
@testable import Chaos
@testable import SimKernel
@testable import SimServices

/// Exploration, merge, shrinking, reports and PCT.
final class ExploreTests: XCTestCase {
    /// The simrun binary built beside this test bundle.
    static let simrun = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("simrun").path

    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("explore-tests-\(getpid())-\(name.filter(\.isLetter).suffix(30))")
        try? FileManager.default.removeItem(at: folder)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: Self.simrun), "simrun not built at \(Self.simrun)")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    private func workerCommand(defects: String, faults: String = "lite", extra: [String] = []) -> [String] {
        [Self.simrun, "explore-worker", Chaos05.scenario.path, "--defects", defects, "--faults", faults, "--strategy", "random",
         "--seeds-out", folder.path] + extra
    }

    private func store(_ name: String, defects: String = "A9") throws -> ResultsStore {
        try ResultsStore(path: folder.appendingPathComponent(name).path, identity: ResultsStore.Identity(
            scenario: "05", scenarioDigest: "d", defects: defects, faults: "lite", strategy: "random", simulatorVersion: "t"))
    }

    func testExplorationStoresOneRowPerSeedAndResumesWithoutRepeats() throws {
        let results = try store("resume.sqlite", defects: "none")
        // "Interrupted" after seeds 1...4: a first exploration of only those.
        let first = Explorer(request: ExploreRequest(seeds: 1 ... 4, shard: nil, jobs: 2, resultsPath: "", workerCommand: workerCommand(defects: "none")), store: results)
        _ = try first.run { _ in }
        var calls = 0
        var lastProgress: ExploreProgress?
        let second = Explorer(request: ExploreRequest(seeds: 1 ... 10, shard: nil, jobs: 2, resultsPath: "", workerCommand: workerCommand(defects: "none")), store: results)
        let all = try second.run { calls += 1; lastProgress = $0 }.results
        XCTAssertEqual(calls, 6, "only the 6 missing seeds run again")
        XCTAssertEqual(lastProgress?.skipped, 4)
        XCTAssertEqual(all.map(\.seed), Array(1 ... 10))
        XCTAssertTrue(all.allSatisfy { $0.outcome == "passed" })
        // The stored fingerprints are those of runs made here, in this process.
        let direct = ScenarioRunner.run(RunConfiguration(scenario: Chaos05.scenario, seed: 7, defects: .empty))
        XCTAssertEqual(all[6].fingerprint, hex64(direct.fingerprint))
    }

    func testKilledExplorationResumesWithNoSeedLostOrCountedTwice() throws {
        let path = folder.appendingPathComponent("killed.sqlite").path
        let arguments = ["explore", Chaos05.scenario.path, "--seeds", "1..24", "--jobs", "1", "--defects", "none", "--results", path, "--seeds-out", folder.path]
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.simrun)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        // Wait (polling the database, bounded) until some seeds are stored, then kill it hard.
        var stored = 0
        for _ in 0 ..< 600 where stored < 3 {
            usleep(50_000)
            stored = (try? ResultsStore(path: path, identity: nil).exploredSeeds().count) ?? 0
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        XCTAssertGreaterThanOrEqual(stored, 3)
        let again = Process()
        again.executableURL = URL(fileURLWithPath: Self.simrun)
        again.arguments = arguments
        again.standardOutput = FileHandle.nullDevice
        try again.run()
        again.waitUntilExit()
        XCTAssertEqual(again.terminationStatus, 0)
        let rows = try ResultsStore(path: path, identity: nil).results()
        XCTAssertEqual(rows.map(\.seed), Array(1 ... 24), "every seed exactly once")
    }

    func testATrappingRunIsRecordedAsACrashAndTheExplorationGoesOn() throws {
        let results = try store("crash.sqlite", defects: "none")
        let explorer = Explorer(request: ExploreRequest(seeds: 1 ... 6, shard: nil, jobs: 2, resultsPath: "",
                                                        workerCommand: workerCommand(defects: "none", extra: ["--trap-on-seed", "3"])), store: results)
        let all = try explorer.run { _ in }.results
        XCTAssertEqual(all.map(\.seed), Array(1 ... 6))
        XCTAssertEqual(all.filter { $0.outcome == "crash" }.map(\.seed), [3])
        XCTAssertTrue(all[2].message?.contains("trap requested for seed 3") ?? false, all[2].message ?? "")
        XCTAssertEqual(all.filter { $0.outcome == "passed" }.count, 5)
    }

    func testShardsPartitionTheRangeAndMergeCombinesThem() throws {
        let request = { (index: Int) in ExploreRequest(seeds: 10 ... 29, shard: (index, 3), jobs: 2, resultsPath: "", workerCommand: self.workerCommand(defects: "A9")) }
        XCTAssertEqual(Set((0 ..< 3).flatMap { request($0).shardSeeds }), Set(10 ... 29))
        XCTAssertEqual((0 ..< 3).map { Array(request($0).shardSeeds).count }.reduce(0, +), 20)
        XCTAssertEqual((0 ..< 3).map { request($0).shardCount }, [7, 7, 6], "the count agrees with the seeds iterated")
        var parts: [ResultsStore] = []
        for index in 0 ..< 2 {
            let part = try store("part\(index).sqlite")
            _ = try Explorer(request: request(index), store: part).run { _ in }
            parts.append(part)
        }
        let merged = try ResultsStore(path: folder.appendingPathComponent("merged.sqlite").path, identity: nil)
        XCTAssertEqual(try merged.merge(from: parts[0]), 7)
        XCTAssertEqual(try merged.merge(from: parts[1]), 7)
        XCTAssertEqual(try merged.merge(from: parts[1]), 0, "merging twice adds nothing")
        XCTAssertEqual(try merged.results().map(\.seed), (Array(request(0).shardSeeds) + Array(request(1).shardSeeds)).sorted())
        XCTAssertTrue(try merged.results().allSatisfy { $0.checker == "staleness" })
        let other = try store("other.sqlite", defects: "A1")
        XCTAssertThrowsError(try merged.merge(from: other)) { XCTAssertTrue("\($0)".contains("defects"), "\($0)") }
    }

    func testFailuresAreWrittenAsSeedFilesThatReplay() throws {
        let results = try store("failures.sqlite")
        let all = try Explorer(request: ExploreRequest(seeds: 1 ... 2, shard: nil, jobs: 1, resultsPath: "", workerCommand: workerCommand(defects: "A9")), store: results).run { _ in }.results
        for result in all {
            let path = try XCTUnwrap(result.seedFile)
            let verdict = Replay.run(try SeedFile.load(path: path), scenario: Chaos05.scenario)
            XCTAssertTrue(verdict.matches, "\(path): \(verdict.differences)")
        }
    }

    func testShrunkSeedFileIsSmallerAndFailsTheSameWay() throws {
        let path = Chaos05.packageRoot.appendingPathComponent("Seeds/05_distributed_training_hang-A2-deadlock-1.seed").path
        let original = try SeedFile.load(path: path)
        let report = Shrinker.shrink(original, scenario: Chaos05.scenario)
        XCTAssertLessThan(report.atomsAfter.count + report.stepsAfter, report.atomsBefore.count + report.stepsBefore)
        XCTAssertEqual(report.shrunk.outcome.kind, "deadlock")
        XCTAssertEqual(report.shrunk.outcome.checker, "deadlock")
        let verdict = Replay.run(report.shrunk, scenario: Chaos05.scenario)
        XCTAssertTrue(verdict.matches, "\(verdict.differences)")
    }

    func testShrinkingNeverLengthensTheRunToItsFirstFinding() throws {
        // The shipped seed files of these defects, whatever seed each was recorded at.
        let folder = Chaos05.packageRoot.appendingPathComponent("Seeds")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        for prefix in ["A1-ps-consistency-", "A9-staleness-", "M7-checkpoint-integrity-"] {
            let name = try XCTUnwrap(files.first { $0.hasPrefix("05_distributed_training_hang-\(prefix)") }, "a seed file for \(prefix)")
            let path = folder.appendingPathComponent(name).path
            let original = try SeedFile.load(path: path)
            let report = Shrinker.shrink(original, scenario: Chaos05.scenario)
            XCTAssertLessThanOrEqual(report.shrunk.events, report.eventsBefore, name)
            XCTAssertLessThanOrEqual(report.atomsAfter.count, report.atomsBefore.count, name)
            XCTAssertEqual(report.shrunk.outcome.checker, original.outcome.checker, name)
        }
    }

    func testDDMinFindsAOneMinimalSubset() {
        // Fails when both 3 and 7 are present.
        let result = Shrinker.ddmin(Array(0 ..< 10)) { $0.contains(3) && $0.contains(7) }
        XCTAssertEqual(result.sorted(), [3, 7])
        XCTAssertEqual(Shrinker.ddmin(Array(0 ..< 10)) { _ in true }, [])
    }

    func testReportShowsTheCycleTheFaultsAndTheCommand() throws {
        let path = Chaos05.packageRoot.appendingPathComponent("Seeds/05_distributed_training_hang-A2-deadlock-1.seed").path
        let file = try SeedFile.load(path: path)
        let configuration = file.configuration(scenario: Chaos05.scenario)
        let (result, records, nodes) = ScenarioRunner.runRecorded(configuration)
        let html = HTMLReport.render(file: file, path: path, configuration: configuration, result: result, records: records, nodes: nodes)
        XCTAssertTrue(html.hasPrefix("<!DOCTYPE html>"))
        XCTAssertTrue(html.contains("<svg id=\"failure-graph\""))
        guard case .deadlock(let cycle) = result.outcome else { return XCTFail("the A2 seed file should end in a deadlock, got \(result.outcome)") }
        XCTAssertEqual(cycle.members.count, 2)
        for member in cycle.members { XCTAssertTrue(html.contains(">\(member.owner)</text>"), "\(member.owner) is not in the graph") }
        XCTAssertTrue(html.contains(">allreduce/workers</text>") && html.contains(">allreduce/aggregation</text>"))
        XCTAssertTrue(html.contains("simrun scenario 05_distributed_training_hang --seed 1 --defects A2 --faults lite"), "the command that reproduces it")
        XCTAssertTrue(html.contains("gateway at 12343 ms, restart after 565 ms"), "the injected crash is listed")
        XCTAssertTrue(html.contains("<svg id=\"timeline\"") && html.contains("id=\"failure-line\""))
        // The last events are the involved actors' only.
        XCTAssertFalse(result.involvedActors.isEmpty)
        XCTAssertTrue(html.contains("the actors the failure involves: \(HTMLReport.escape(result.involvedActors.joined(separator: ", ")))"))
        let table = String(html[html.range(of: "<table id=\"events\">")!.lowerBound...])
        let rows = table.components(separatedBy: "<tr><td>").dropFirst()
        XCTAssertFalse(rows.isEmpty)
        for row in rows {
            let cells = row.components(separatedBy: "</td><td>")
            XCTAssertTrue(result.involvedActors.contains { cells[1] == $0 || cells[2] == $0 || cells[2].hasPrefix($0 + "/") }, "\(cells.prefix(3))")
        }
        XCTAssertFalse(html.contains("<script") || html.contains("src=") || html.contains("href=\"http"), "self-contained")
    }

    /// The report's command reproduces the file's run: the same fingerprint (and a shrunk file's
    /// report says only replay does).
    func testTheReportsReproduceCommandGivesTheFilesFingerprint() throws {
        for name in ["05_distributed_training_hang-A2-deadlock-1", "04_ab_test_disaster-B8-output-type-1"] {
            let path = Chaos05.packageRoot.appendingPathComponent("Seeds/\(name).seed").path
            let (file, scenario) = try SeedFile.resolve(path: path)
            let configuration = file.configuration(scenario: scenario)
            let command = try XCTUnwrap(configuration.reproduceCommand, name)
            let arguments = try XCTUnwrap(command.components(separatedBy: "simrun ").last).split(separator: " ").map(String.init)
            let run = try runSimrun(arguments + ["--json", "--no-seed-file"], in: Chaos05.packageRoot.appendingPathComponent("Scenarios"))
            let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(run.output.utf8)) as? [String: Any], run.error)
            XCTAssertEqual(object["fingerprint"] as? String, file.fingerprint, "\(name): \(command)")
        }
        var shrunk = try SeedFile.load(path: Chaos05.packageRoot.appendingPathComponent("Seeds/05_distributed_training_hang-A2-deadlock-1.seed").path)
        shrunk.faults.crashes = []
        XCTAssertNil(shrunk.configuration(scenario: Chaos05.scenario).reproduceCommand)
        let page = HTMLReport.render(file: shrunk, path: "a2.seed", configuration: shrunk.configuration(scenario: Chaos05.scenario), result: ScenarioRunner.run(shrunk.configuration(scenario: Chaos05.scenario)), records: [], nodes: [])
        XCTAssertTrue(page.contains("only the seed file reproduces this run"))
    }

    func testAStartUpDependencyCycleIsDrawnLikeALockCycle() throws {
        let path = Chaos05.packageRoot.appendingPathComponent("Seeds/00_cold_start-L1-cold-start-1.seed").path
        let (file, scenario) = try SeedFile.resolve(path: path)
        let configuration = file.configuration(scenario: scenario)
        let (result, records, nodes) = ScenarioRunner.runRecorded(configuration)
        let services = try XCTUnwrap(HTMLReport.startupCycle(in: result.outcome.message), "L1's failure names a start-up cycle: \(result.outcome.message)")
        let html = HTMLReport.render(file: file, path: path, configuration: configuration, result: result, records: records, nodes: nodes)
        let svg = String(try XCTUnwrap(html.range(of: "<svg id=\"startup-cycle\"").map { html[$0.lowerBound...] }))
        for service in services { XCTAssertTrue(svg.contains(">\(service)</text></g>"), service) }
        XCTAssertEqual(svg.prefix(while: { _ in true }).components(separatedBy: "</svg>").first?.components(separatedBy: "<title>waits for</title>").count, services.count + 1)
        XCTAssertEqual(HTMLReport.startupCycle(in: "x; start-up deadlock: a waits for b waits for a; y"), ["a", "b"])
        XCTAssertNil(HTMLReport.startupCycle(in: "no cycle here"))
    }

    func testTheTimelineHasALegendAndSaysWhenItIsCut() {
        func records(_ count: Int) -> [TraceRecord] {
            (0 ..< count).map { TraceRecord(index: UInt64($0), time: Int64($0) * Nanos.millisecond, kind: "net.send", node: "alpha", actor: "a", payload: 0, detail: "", fingerprint: 0) }
        }
        let whole = HTMLReport.timeline(records: records(4000), nodes: ["alpha"], faults: FaultOptions(), end: 5 * Nanos.second, failureAt: nil)
        XCTAssertTrue(whole.contains("id=\"legend\"") && whole.contains("locks (lock.*)") && whole.contains("dropped messages (net.drop)"))
        XCTAssertFalse(whole.contains("timeline-cut"), "4,000 events are all drawn")
        let cut = HTMLReport.timeline(records: records(6000), nodes: ["alpha"], faults: FaultOptions(), end: 6 * Nanos.second, failureAt: nil)
        XCTAssertTrue(cut.contains("Only the last 5000 of 6000 events are drawn, from 1.000s on"), cut.prefix(2000).description)
        XCTAssertEqual(cut.components(separatedBy: "<rect x=").count - 1, 5000)
    }

    /// The report as a browser renders it (the DOM Chromium builds, not the HTML text): the
    /// wait-for cycle's owners and resources named in the graph, one "waits for" and one "held by"
    /// arrow per member. CI installs Chromium (`.ci/run`); without it the test skips.
    func testReportRendersInHeadlessChromium() throws {
        let browser = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let browser else { throw XCTSkip("no Chromium on this machine (apt-get install chromium)") }
        // F10's seed file (its seed moves when the platform's traffic changes: scripts/rerecord-seeds --search).
        let seeds = Chaos05.packageRoot.appendingPathComponent("Seeds")
        let name = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: seeds.path).sorted().first { $0.hasPrefix("05_distributed_training_hang-F10-deadlock-") })
        let path = seeds.appendingPathComponent(name).path
        let file = try SeedFile.load(path: path)
        let configuration = file.configuration(scenario: Chaos05.scenario)
        let (result, records, nodes) = ScenarioRunner.runRecorded(configuration)
        guard case .deadlock(let cycle) = result.outcome else { return XCTFail("the seed's run should end in a deadlock, got \(result.outcome)") }
        let html = folder.appendingPathComponent("report.html")
        try HTMLReport.render(file: file, path: path, configuration: configuration, result: result, records: records, nodes: nodes)
            .write(to: html, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: browser)
        process.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", html.absoluteString]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let dom = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let graph = try XCTUnwrap(dom.range(of: "<svg id=\"failure-graph\"").map { String(dom[$0.lowerBound...].prefix { _ in true }) }, "the failure graph is in the DOM")
        let svg = String(graph[..<(graph.range(of: "</svg>")?.upperBound ?? graph.endIndex)])
        for member in cycle.members {
            XCTAssertTrue(svg.contains(">\(HTMLReport.escape(member.owner))</text>"), "owner \(member.owner) drawn")
            XCTAssertTrue(svg.contains(">\(HTMLReport.escape(member.waitsFor))</text>"), "resource \(member.waitsFor) drawn")
        }
        XCTAssertEqual(svg.components(separatedBy: "<title>waits for</title>").count - 1, cycle.members.count)
        XCTAssertEqual(svg.components(separatedBy: "<title>held by</title>").count - 1, cycle.members.count)
        XCTAssertTrue(dom.contains("id=\"timeline\"") && dom.contains("id=\"legend\""))
    }

    func testPCTIsDeterministicAndReordersDeliveries() {
        let scenario = Chaos05.scenario
        func run(_ strategy: SchedulingStrategy, seed: UInt64 = 4) -> RunResult {
            ScenarioRunner.run(RunConfiguration(scenario: scenario, seed: seed, defects: .empty, faults: scenario.faultOptions(seed: seed), strategy: strategy))
        }
        let a = run(.pct(depth: 3)), b = run(.pct(depth: 3))
        XCTAssertEqual(a.fingerprint, b.fingerprint)
        XCTAssertNotEqual(a.fingerprint, run(.random).fingerprint)
        XCTAssertNotEqual(a.fingerprint, run(.pct(depth: 3), seed: 5).fingerprint)
        XCTAssertEqual(a.outcome, .passed, "correct code passes under PCT too")
    }

    func testPCTPrioritiesAreAPermutationAndChangePointsLowerThem() {
        var options = SimulationOptions()
        options.strategy = .pct(depth: 2)
        let simulation = Simulation(seed: 9, options: options)
        let nodes = (0 ..< 4).map { simulation.addNode("n\($0)") }
        let pct = simulation.pct!
        let first = nodes.map { pct.delay(for: $0.id) }
        XCTAssertEqual(Set(first), Set((0 ..< 4).map { Int64($0) * pct.quantum }), "ranks 0...3")
        var lowered = 0
        for decision in 0 ..< pct.horizon {
            let node = nodes[decision % 4].id
            if pct.delay(for: node) == 3 * pct.quantum { lowered += 1 }
        }
        XCTAssertGreaterThan(lowered, 0)
        XCTAssertNil(Simulation(seed: 9).pct, "no PCT under the random strategy")
        XCTAssertEqual(SchedulingStrategy(parsing: "pct:5"), .pct(depth: 5))
        XCTAssertNil(SchedulingStrategy(parsing: "pct:0"))
    }
}
