import Foundation
import XCTest
@testable import Chaos
@testable import SimKernel
@testable import SimServices

/// Hostile input: scenario files and seed files mutated from the shipped ones, and every case the
/// hostile-user report listed. Each input is either refused with one line that names the file
/// (and the line and field where there is one), exit code 2 on the command line, or accepted on
/// purpose and then runs without trapping. Nothing is written outside the output folder.
final class HostileInputTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("hostile-\(getpid())-\(name.filter(\.isLetter))")
        try? FileManager.default.removeItem(at: folder)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    // MARK: mutation of scenario files

    static let replacementValues = ["", "-1", "0", "99999999999999999999", "1e309", "'5'", "\"7\"", "[1, 2]", "{a: 1}", "~", "bogus", "true", "-0.5", "1.5",
                                    "9223372036854775807", "\"../escaped\""]

    /// Every scalar `key: value` line of `text` with its value replaced by each hostile value, plus
    /// lines deleted, duplicated and the text cut short.
    static func scenarioMutants(_ text: String) -> [(label: String, text: String)] {
        let lines = text.components(separatedBy: "\n")
        var mutants: [(String, String)] = []
        for (index, line) in lines.enumerated() {
            guard let colon = line.firstIndex(of: ":"), !line.trimmingCharacters(in: .whitespaces).hasPrefix("#") else { continue }
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            guard !value.isEmpty, !value.hasPrefix("|"), !line.contains("{") else { continue }
            let key = line[..<colon]
            for replacement in replacementValues {
                var copy = lines
                copy[index] = "\(key): \(replacement)"
                mutants.append(("line \(index + 1) = \(replacement)", copy.joined(separator: "\n")))
            }
            var deleted = lines
            deleted.remove(at: index)
            mutants.append(("line \(index + 1) deleted", deleted.joined(separator: "\n")))
            var doubled = lines
            doubled.insert(line, at: index)
            mutants.append(("line \(index + 1) duplicated", doubled.joined(separator: "\n")))
        }
        for cut in stride(from: 7, to: text.utf8.count, by: max(1, text.utf8.count / 12)) {
            mutants.append(("cut at byte \(cut)", String(decoding: Array(text.utf8).prefix(cut), as: UTF8.self)))
        }
        mutants.append(("tab indentation", text.replacingOccurrences(of: "\n  ", with: "\n\t")))
        mutants.append(("empty", ""))
        mutants.append(("alias bomb", "a: &a [x, x, x, x]\nb: &b [*a, *a, *a, *a]\nc: [*b, *b, *b, *b]\n" + text))
        return mutants
    }

    func testMutatedScenarioFilesAreRefusedInOneLineOrRunWithoutTrapping() throws {
        var refused = 0, accepted: [(String, Scenario)] = []
        for name in ["00_cold_start", "05_distributed_training_hang"] {
            let text = try String(contentsOf: Chaos05.packageRoot.appendingPathComponent("Scenarios/\(name).yaml"), encoding: .utf8)
            for (label, mutant) in Self.scenarioMutants(text) {
                let path = "\(name)-mutant.yaml"
                do {
                    let scenario = try ScenarioLoader.parse(mutant, file: path)
                    accepted.append(("\(name) \(label)", scenario))
                } catch {
                    refused += 1
                    let message = error.description
                    XCTAssertTrue(message.hasPrefix(path), "\(name) \(label): \(message)")
                    XCTAssertFalse(message.contains("\n"), "\(name) \(label): one line, got \(message)")
                }
            }
        }
        XCTAssertGreaterThanOrEqual(refused + accepted.count, 300, "the suite has at least 300 scenario cases")
        XCTAssertGreaterThan(refused, 200)
        print("scenario mutants: \(refused + accepted.count) cases, \(refused) refused, \(accepted.count) accepted (\(Self.distinct(accepted).count) distinct)")
        if ProcessInfo.processInfo.environment["HOSTILE_LIST"] != nil { for (label, _) in accepted { print("accepted: \(label)") } }
        // Accepted on purpose: each runs (its first 3 virtual seconds, faults of its own profile)
        // without trapping and without a simulator fault.
        for (label, scenario) in Self.distinct(accepted).prefix(40) {
            var short = scenario
            short.durationSeconds = 3
            let result = ScenarioRunner.run(RunConfiguration(scenario: short, seed: 1, defects: .empty, faults: short.faultOptions(seed: 1)))
            XCTAssertNotEqual(result.outcome.kind, "simulator_fault", "\(label): \(result.outcome)")
        }
    }

    /// One accepted mutant per distinct digest (many mutations give the same valid text).
    static func distinct(_ list: [(String, Scenario)]) -> [(String, Scenario)] {
        var seen: Set<UInt64> = []
        return list.filter { seen.insert($0.1.digest).inserted }
    }

    // MARK: mutation of seed files

    static let hostileJSONValues: [Any] = [-1, 0, 10_000_000_000_000_000 as Int64, Int64.max, "x", NSNull(), [Any](), [String: Any](), 1.5, true]

    /// The leaf paths of a JSON tree.
    static func leafPaths(_ value: Any, _ path: [Any] = []) -> [[Any]] {
        if let object = value as? [String: Any] { return object.keys.sorted().flatMap { leafPaths(object[$0]!, path + [$0]) } }
        if let array = value as? [Any] { return array.indices.flatMap { leafPaths(array[$0], path + [$0]) } }
        return [path]
    }

    static func replacing(_ value: Any, at path: [Any], with new: Any?) -> Any {
        guard let head = path.first else { return new ?? NSNull() }
        let rest = Array(path.dropFirst())
        if var object = value as? [String: Any], let key = head as? String {
            if rest.isEmpty { object[key] = new } else if let inner = object[key] { object[key] = replacing(inner, at: rest, with: new) }
            return object
        }
        if var array = value as? [Any], let index = head as? Int {
            if rest.isEmpty && new == nil { array.remove(at: index) } else { array[index] = replacing(array[index], at: rest, with: new) }
            return array
        }
        return value
    }

    /// Seed-file mutants: every leaf set to each hostile value or removed, an unknown key, and
    /// textual damage (duplicate key, trailing comma, truncation, a byte that is not UTF-8).
    static func seedMutants(_ data: Data) throws -> [(label: String, bytes: Data)] {
        let tree = try JSONSerialization.jsonObject(with: data)
        var mutants: [(String, Data)] = []
        func encode(_ value: Any) -> Data { (try? JSONSerialization.data(withJSONObject: value, options: [.prettyPrinted, .sortedKeys])) ?? Data() }
        for path in leafPaths(tree) where !(path.last is String && (path.last as! String) == "scenario_text") {
            let name = path.map { "\($0)" }.joined(separator: ".")
            for value in hostileJSONValues { mutants.append(("\(name) = \(value)", encode(replacing(tree, at: path, with: value)))) }
            mutants.append(("\(name) removed", encode(replacing(tree, at: path, with: nil))))
        }
        let text = String(decoding: data, as: UTF8.self)
        mutants.append(("unknown key", encode(replacing(tree, at: ["sectorSize"], with: 9))))
        mutants.append(("duplicate key", Data(text.replacingOccurrences(of: "\"events\"", with: "\"seed\" : 3,\n  \"events\"").utf8)))
        mutants.append(("trailing comma", Data(text.replacingOccurrences(of: "\n}", with: ",\n}").utf8)))
        mutants.append(("not UTF-8", Data(text.utf8.prefix(40)) + Data([0xFF, 0xFE]) + Data(text.utf8.dropFirst(40))))
        for cut in stride(from: 0, to: data.count, by: max(1, data.count / 6)) { mutants.append(("cut at \(cut)", data.prefix(cut))) }
        return mutants
    }

    func testMutatedSeedFilesAreRefusedInOneLineOrReplayWithoutTrapping() throws {
        let seeds = Chaos05.packageRoot.appendingPathComponent("Seeds")
        let names = try FileManager.default.contentsOfDirectory(atPath: seeds.path).filter { $0.hasSuffix(".seed") }.sorted()
        var refused = 0, acceptedWithOtherFaults: [(String, SeedFile, Scenario)] = [], total = 0
        // Two seed files of each scenario (each mutant costs a parse, not a run).
        for name in [names.first { $0.hasPrefix("00_") }!, names.first { $0.hasPrefix("05_") }!] {
            let data = try Data(contentsOf: seeds.appendingPathComponent(name))
            let original = try SeedFile.load(path: seeds.appendingPathComponent(name).path)
            for (label, bytes) in try Self.seedMutants(data) {
                total += 1
                let path = folder.appendingPathComponent("mutant.seed").path
                try bytes.write(to: URL(fileURLWithPath: path))
                do {
                    let (file, scenario) = try SeedFile.resolve(path: path)
                    if file.faults != original.faults { acceptedWithOtherFaults.append(("\(name) \(label)", file, scenario)) }
                } catch {
                    refused += 1
                    XCTAssertTrue(error.description.hasPrefix(path + ":"), "\(label): \(error)")
                    XCTAssertFalse(error.description.contains("\n"), "\(label): one line, got \(error)")
                }
            }
        }
        XCTAssertGreaterThanOrEqual(total, 300, "the suite has at least 300 seed-file cases")
        XCTAssertGreaterThan(refused, total / 2)
        print("seed-file mutants: \(total) cases, \(refused) refused, \(acceptedWithOtherFaults.count) accepted with other faults")
        // A mutant with other faults that was accepted is a valid run: it replays without trapping.
        for (label, file, scenario) in acceptedWithOtherFaults.prefix(12) {
            var configuration = file.configuration(scenario: scenario)
            configuration.scenario.durationSeconds = 5
            let result = ScenarioRunner.run(configuration)
            XCTAssertNotEqual(result.outcome.kind, "simulator_fault", "\(label): \(result.outcome)")
        }
    }

    // MARK: the reported cases, through the command line

    private func simrun(_ arguments: [String], in directory: URL? = nil) throws -> (status: Int32, output: String, error: String) {
        try runSimrun(arguments, in: directory ?? folder)
    }

    private func assertBadInput(_ arguments: [String], mentions: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try simrun(arguments)
        XCTAssertEqual(result.status, 2, "\(arguments): \(result.error)", file: file, line: line)
        XCTAssertTrue(result.error.hasPrefix("simrun: error: "), "\(arguments): \(result.error)", file: file, line: line)
        XCTAssertEqual(result.error.split(separator: "\n").count, 1, "\(arguments): \(result.error)", file: file, line: line)
        XCTAssertTrue(result.error.contains(mentions), "\(arguments): expected '\(mentions)' in \(result.error)", file: file, line: line)
    }

    /// A shipped seed file with one change made through its JSON tree.
    private func damagedSeed(_ change: (inout [String: Any]) -> Void) throws -> String {
        let source = Chaos05.packageRoot.appendingPathComponent("Seeds/05_distributed_training_hang-A2-deadlock-1.seed")
        var tree = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: source)) as? [String: Any])
        change(&tree)
        let path = folder.appendingPathComponent("damaged-\(UInt32.random(in: 0 ... .max)).seed").path
        try JSONSerialization.data(withJSONObject: tree, options: [.prettyPrinted, .sortedKeys]).write(to: URL(fileURLWithPath: path))
        return path
    }

    private func faults(_ tree: inout [String: Any], _ change: (inout [String: Any]) -> Void) {
        var faults = tree["faults"] as! [String: Any]
        change(&faults)
        tree["faults"] = faults
    }

    /// Finding 1: damaged faults blocks trapped replay, report and shrink.
    func testDamagedFaultsInASeedFileAreRefusedByReplayReportAndShrink() throws {
        let cases: [(String, (inout [String: Any]) -> Void)] = [
            ("faults.disk.sector_size", { t in self.faults(&t) { f in var d = f["disk"] as! [String: Any]; d["sector_size"] = 0; f["disk"] = d } }),
            ("drop_probability.denominator", { t in self.faults(&t) { f in var n = f["network"] as! [String: Any]; n["drop_probability"] = ["numerator": 1, "denominator": 0]; f["network"] = n } }),
            ("duplicate_probability.numerator", { t in self.faults(&t) { f in var n = f["network"] as! [String: Any]; n["duplicate_probability"] = ["numerator": 3, "denominator": 2]; f["network"] = n } }),
            ("faults.network.latency", { t in self.faults(&t) { f in var n = f["network"] as! [String: Any]; n["latency"] = ["uniform": ["min": 9, "max": 1]]; f["network"] = n } }),
            ("faults.network.latency", { t in self.faults(&t) { f in var n = f["network"] as! [String: Any]; n["latency"] = ["exponential": ["min": 0, "mean": -5, "max": 10]]; f["network"] = n } }),
            ("faults.network.latency", { t in self.faults(&t) { f in var n = f["network"] as! [String: Any]; n["latency"] = ["bounded_pareto": ["min": Int64.max, "max": Int64.max, "alpha_percent": 100]]; f["network"] = n } }),
            ("faults.heal_at_ms", { t in self.faults(&t) { f in f["heal_at_ms"] = -1 } }),
            ("faults.crashes[0].at_ms", { t in self.faults(&t) { f in f["crashes"] = [["node": "gateway", "at_ms": 10_000_000_000_000_000 as Int64, "restart_after_ms": 5]] } }),
            ("faults.crashes[0].node", { t in self.faults(&t) { f in f["crashes"] = [["node": "nowhere", "at_ms": 5, "restart_after_ms": 5]] } }),
            ("faults.partitions[0]", { t in self.faults(&t) { f in f["partitions"] = [["side_a": ["ps-0"], "side_b": ["ps-0"], "at_ms": 5, "duration_ms": 5]] } }),
            ("faults.clock_skew_ms.ps-0", { t in self.faults(&t) { f in f["clock_skew_ms"] = ["ps-0": 10_000_000_000_000_000 as Int64] } }),
            ("workload_steps", { t in t["workload_steps"] = 0 }),
            ("faults.profile", { t in self.faults(&t) { f in f["profile"] = "bogus" } }),
        ]
        for (field, change) in cases {
            let path = try damagedSeed(change)
            for command in [["replay", path], ["report", path], ["shrink", path]] { try assertBadInput(command, mentions: field) }
        }
    }

    /// Finding 2: outputs never replace a symbolic link, a pipe or a device; a failed write says so.
    func testOutputsRefuseLinksPipesAndDevicesAndLeaveThemAsTheyWere() throws {
        let seed = Chaos05.packageRoot.appendingPathComponent("Seeds/00_cold_start-L3-cold-start-1.seed").path
        let target = folder.appendingPathComponent("precious.txt")
        try Data("keep me".utf8).write(to: target)
        let link = folder.appendingPathComponent("link.html")
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: target)
        let fifo = folder.appendingPathComponent("fifo").path
        XCTAssertEqual(mkfifo(fifo, 0o644), 0)
        try assertBadInput(["report", seed, "--html", link.path], mentions: "symbolic link")
        try assertBadInput(["report", seed, "--html", fifo], mentions: "not a regular file")
        try assertBadInput(["shrink", seed, "--output", link.path], mentions: "symbolic link")
        try assertBadInput(["explore", "00_cold_start", "--seeds", "1..2", "--results", "/dev/null"], mentions: "not a regular file")
        try assertBadInput(["scenario", "00_cold_start", "--trace", fifo], mentions: "not a regular file")
        XCTAssertEqual(try String(contentsOf: target, encoding: .utf8), "keep me")
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: link.path), target.path)
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/dev/null-journal"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/dev/null-wal"))
    }

    /// Findings 3 and 4: a scenario's name cannot escape the seed folder, and a seed file of a
    /// scenario given by path replays after the scenario file is gone (its text is embedded).
    func testScenarioNamesStayInsideAndPathScenariosReplayFromTheirSeedFile() throws {
        let text = try String(contentsOf: Chaos05.packageRoot.appendingPathComponent("Scenarios/00_cold_start.yaml"), encoding: .utf8)
        let escaping = folder.appendingPathComponent("escaping.yaml")
        try text.replacingOccurrences(of: "name: 00_cold_start", with: "name: ../escaped").write(to: escaping, atomically: true, encoding: .utf8)
        try assertBadInput(["scenario", escaping.path], mentions: "name")
        let own = folder.appendingPathComponent("mine.yaml")
        try text.replacingOccurrences(of: "name: 00_cold_start", with: "name: my_cold_start").write(to: own, atomically: true, encoding: .utf8)
        let run = try simrun(["scenario", own.path, "--seed", "1", "--defects", "L3", "--seeds-out", "seeds"])
        XCTAssertEqual(run.status, 1, run.error)
        XCTAssertTrue(run.output.contains("reproduce: swift run -c release simrun scenario \(own.path) "), "the printed command names the path")
        let seedPath = folder.appendingPathComponent("seeds/my_cold_start-L3-cold-start-1.seed").path
        try FileManager.default.removeItem(at: own)
        let replay = try simrun(["replay", seedPath])
        XCTAssertEqual(replay.status, 0, replay.output + replay.error)
        XCTAssertTrue(replay.output.contains("replay: identical"), replay.output)
    }

    /// Findings 5 and 6: failed writes are reported; ranges are iterated, never materialised.
    func testUnwritableOutputsAndHugeRangesAreHandled() throws {
        let blocker = folder.appendingPathComponent("a-file")
        try Data().write(to: blocker)
        try assertBadInput(["scenario", "00_cold_start", "--trace", blocker.path + "/t.json"], mentions: "--trace")
        try assertBadInput(["explore", "00_cold_start", "--seeds", "1..2", "--seeds-out", blocker.path + "/seeds"], mentions: "--seeds-out")
        try assertBadInput(["explore", "00_cold_start", "--seeds", "1..2", "--results", ""], mentions: "--results")
        try assertBadInput(["explore", "00_cold_start", "--seeds", "0..18446744073709551615"], mentions: "2^64")
        // Two seeds at the very top of the range: no overflow past 2^64 - 1.
        let top = try simrun(["explore", "00_cold_start", "--seeds", "18446744073709551614..18446744073709551615", "--defects", "none", "--faults", "none",
                              "--results", "top.sqlite", "--json"])
        XCTAssertEqual(top.status, 0, top.error)
        XCTAssertTrue(top.output.contains("\"seeds\":2"), top.output)
        XCTAssertEqual(ExploreRequest(seeds: 1 ... 100_000_000_000, shard: (3, 7), jobs: 1, resultsPath: "", workerCommand: []).shardCount, 14_285_714_286)
        XCTAssertEqual(Array(ExploreRequest(seeds: 1 ... 100_000_000_000, shard: nil, jobs: 1, resultsPath: "", workerCommand: []).shardSeeds.prefix(3)), [1, 2, 3])
    }

    /// Findings 7, 8 and 13: exit codes, messages and what used to be accepted silently.
    func testOptionsAndScenarioMistakesAreOneLineErrors() throws {
        try assertBadInput(["scenario", "05_distributed_training_hang", "--seed", "-1"], mentions: "--seed")
        try assertBadInput(["explore", "00_cold_start", "--seeds", "1..2", "--shard", "0//1"], mentions: "--shard")
        try assertBadInput(["bench", "--scenario-seeds", "0"], mentions: "--scenario-seeds")
        let minimal = try String(contentsOf: Chaos05.packageRoot.appendingPathComponent("Scenarios/00_cold_start.yaml"), encoding: .utf8)
        func write(_ text: String) throws -> String {
            let path = folder.appendingPathComponent("s-\(UInt32.random(in: 0 ... .max)).yaml").path
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            return path
        }
        let notUTF8 = folder.appendingPathComponent("latin1.yaml").path
        try Data([0x6E, 0x61, 0x6D, 0x65, 0x3A, 0x20, 0xE9, 0x0A]).write(to: URL(fileURLWithPath: notUTF8))
        try assertBadInput(["scenario", notUTF8], mentions: "not UTF-8")
        try assertBadInput(["scenario", try write(minimal + "\nduration_s: 120\n")], mentions: "duplicate")
        try assertBadInput(["scenario", try write(minimal.replacingOccurrences(of: "duration_s: 120", with: "duration_s: \"120\""))], mentions: "quotes")
        let lateCrash = minimal.replacingOccurrences(of: "  profile: lite", with: "  profile: lite\n  crashes:\n    - {node: registry, at_ms: 50000, restart_after_ms: 10}")
        try assertBadInput(["scenario", try write(lateCrash)], mentions: "safety phase")
        let unknownNode = minimal.replacingOccurrences(of: "  profile: lite", with: "  profile: lite\n  crashes:\n    - {node: ghost, at_ms: 500}")
        let unknownResult = try simrun(["scenario", try write(unknownNode)])
        XCTAssertTrue(unknownResult.error.contains(":19: faults.crashes[0].node"), "names the entry's line: \(unknownResult.error)")
        try assertBadInput(["scenario", try write(minimal.replacingOccurrences(of: "checks: [routing, cold-start, service-invariants]", with: "checks: [routing, cold-start, service-invariants, progress]"))],
                           mentions: "progress")
    }

    /// Finding 9: the results database alone holds every row after explore exits, and merge
    /// leaves its inputs as they were and refuses what is not a results database.
    func testResultsDatabasesAreCheckpointedAndMergeInputsAreUntouched() throws {
        let run = try simrun(["explore", "00_cold_start", "--seeds", "1..3", "--defects", "none", "--faults", "none", "--results", "r.sqlite"])
        XCTAssertEqual(run.status, 0, run.error)
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.appendingPathComponent("r.sqlite-wal").path), "the log was folded in")
        try FileManager.default.copyItem(at: folder.appendingPathComponent("r.sqlite"), to: folder.appendingPathComponent("copy.sqlite"))
        let before = try Data(contentsOf: folder.appendingPathComponent("copy.sqlite"))
        let merge = try simrun(["merge", "copy.sqlite", "--into", "all.sqlite"])
        XCTAssertEqual(merge.status, 0, merge.error)
        XCTAssertTrue(merge.output.contains("copy.sqlite: 3 seeds added"), merge.output)
        XCTAssertEqual(try Data(contentsOf: folder.appendingPathComponent("copy.sqlite")), before, "merge does not change its input")
        try Data("not a database".utf8).write(to: folder.appendingPathComponent("junk.sqlite"))
        try assertBadInput(["merge", "junk.sqlite", "--into", "all.sqlite"], mentions: "junk.sqlite")
        let empty = folder.appendingPathComponent("empty.sqlite")
        try Data().write(to: empty)
        try assertBadInput(["merge", "empty.sqlite", "--into", "all.sqlite"], mentions: "not a results database")
    }

    /// Finding 11: output to a pipe is line-buffered: explore's header arrives while it runs.
    func testExploreHeaderReachesAPipeBeforeTheRunEnds() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ExploreTests.simrun)
        process.arguments = ["explore", "00_cold_start", "--seeds", "1..100000", "--defects", "none", "--faults", "none", "--results", "p.sqlite"]
        process.currentDirectoryURL = folder
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let first = output.fileHandleForReading.availableData  // blocks until the first line is written
        XCTAssertTrue(process.isRunning, "the header came before the end")
        XCTAssertTrue(String(decoding: first, as: UTF8.self).hasPrefix("exploring 00_cold_start"))
        process.interrupt()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 130)
    }

    /// Finding 10: SIGINT stops an explore with nothing left running and nothing left behind, it
    /// says how to resume, and the same command resumes it: every seed stored exactly once.
    func testInterruptedExploreLeavesNothingBehindAndResumesEverySeedOnce() throws {
        let arguments = ["explore", "00_cold_start", "--seeds", "1..300", "--jobs", "2", "--defects", "none", "--faults", "none", "--results", "i.sqlite"]
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ExploreTests.simrun)
        process.arguments = arguments
        process.currentDirectoryURL = folder
        let errors = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors
        try process.run()
        let database = folder.appendingPathComponent("i.sqlite").path
        // Wait (bounded by a count of polls, not a duration) until a few seeds are stored.
        var stored = 0
        for _ in 0 ..< 6000 where stored < 4 {
            usleep(10_000)
            stored = (try? SQLiteDatabase(path: database, readOnly: true).query("SELECT COUNT(*) FROM runs").first?.first?.integer).flatMap { $0 }.map(Int.init) ?? 0
        }
        XCTAssertGreaterThanOrEqual(stored, 4, "the exploration got going")
        let workersBefore = Self.processes(containing: "explore-worker", parent: process.processIdentifier)
        XCTAssertFalse(workersBefore.isEmpty, "workers were running")
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(process.terminationStatus, 130, message)
        XCTAssertTrue(message.contains("rerun the same command to resume"), message)
        XCTAssertTrue(Set(Self.processes(containing: "explore-worker")).isDisjoint(with: workersBefore), "no worker left running")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory()).filter { $0.hasPrefix("simrun-worker-\(process.processIdentifier)-") }
        XCTAssertEqual(leftovers, [], "no temporary file left")
        XCTAssertFalse(FileManager.default.fileExists(atPath: database + "-wal"), "the database was closed")
        let afterInterrupt = try SQLiteDatabase(path: database, readOnly: true).query("SELECT COUNT(*) FROM runs").first?.first?.integer ?? 0
        XCTAssertLessThan(afterInterrupt, 300, "interrupted before the end")
        let resumed = try simrun(arguments)
        XCTAssertEqual(resumed.status, 0, resumed.error)
        XCTAssertTrue(resumed.output.contains("\(afterInterrupt) done before"), resumed.output)
        let rows = try SQLiteDatabase(path: database, readOnly: true).query("SELECT COUNT(*), COUNT(DISTINCT seed), MIN(seed), MAX(seed) FROM runs").first ?? []
        XCTAssertEqual(rows.map(\.integer), [300, 300, 1, 300], "every seed exactly once")
    }

    /// Process IDs whose command line contains `text` (from /proc).
    /// Processes whose command line contains `text`; with `parent`, only its children (other
    /// explorations on the machine are not this test's workers).
    static func processes(containing text: String, parent: Int32? = nil) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { Int32($0) }.filter { pid in
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"),
                  String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self).contains(text) else { return false }
            guard let parent else { return true }
            // /proc/PID/stat: "pid (comm) state ppid ...", comm may hold spaces: read after the last ')'.
            guard let stat = FileManager.default.contents(atPath: "/proc/\(pid)/stat").map({ String(decoding: $0, as: UTF8.self) }),
                  let close = stat.lastIndex(of: ")") else { return false }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 && Int32(fields[1]) == parent
        }
    }

    // MARK: found by a hostile review of the first fixes

    /// A shrunk seed of a scenario without a training workload replays (no workload_steps).
    func testAShrunkColdStartSeedReplays() throws {
        let seed = folder.appendingPathComponent("l5.seed")
        try FileManager.default.copyItem(at: Chaos05.packageRoot.appendingPathComponent("Seeds/00_cold_start-L5-routing-1.seed"), to: seed)
        let shrink = try simrun(["shrink", seed.path, "--output", "l5.shrunk.seed"])
        XCTAssertEqual(shrink.status, 0, shrink.error)
        XCTAssertFalse(try String(contentsOf: folder.appendingPathComponent("l5.shrunk.seed"), encoding: .utf8).contains("workload_steps"))
        let replay = try simrun(["replay", "l5.shrunk.seed"])
        XCTAssertEqual(replay.status, 0, replay.output + replay.error)
    }

    /// merge: nothing created beside its inputs, all or nothing, never into one of its inputs;
    /// explore refuses a database that is not its own before writing anything.
    func testMergeIsAllOrNothingAndResultsFilesMustBeResultsDatabases() throws {
        for (name, defects) in [("a.sqlite", "none"), ("c.sqlite", "L1")] {
            let run = try simrun(["explore", "00_cold_start", "--seeds", "1..2", "--defects", defects, "--faults", "none", "--results", name])
            XCTAssertNotEqual(run.status, 2, run.error)
        }
        let before = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        try assertBadInput(["merge", "a.sqlite", "c.sqlite", "--into", "m.sqlite"], mentions: "defects")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted(), before, "no target left, nothing beside the inputs")
        try assertBadInput(["merge", "a.sqlite", "--into", "a.sqlite"], mentions: "also an input")
        let merged = try simrun(["merge", "a.sqlite", "--into", "m.sqlite"])
        XCTAssertEqual(merged.status, 0, merged.error)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted(), (before + ["m.sqlite"]).sorted())
        let foreign = folder.appendingPathComponent("foreign.sqlite").path
        let database = try SQLiteDatabase(path: foreign)
        try database.execute("CREATE TABLE foo(x)")
        database.close()
        let foreignBefore = try Data(contentsOf: URL(fileURLWithPath: foreign))
        try assertBadInput(["explore", "00_cold_start", "--seeds", "1..2", "--results", foreign, "--seeds-out", "never-made"], mentions: "not a results database")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: foreign)), foreignBefore, "the foreign database is untouched")
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.appendingPathComponent("never-made").path), "no seed folder made for a refused run")
    }

    /// Input that carries newlines or NULs cannot make an error span lines.
    func testErrorsStayOneLineWhateverTheInputHolds() throws {
        let newline = try damagedSeed { $0["scenario"] = "a\nsimrun: error: fake" }
        try assertBadInput(["replay", newline], mentions: "\\n")
        let nul = try damagedSeed { $0["scenario"] = "mine\u{0}" }
        try assertBadInput(["replay", nul], mentions: "\\u{0}")
    }

    /// Seed-file values found accepted: each is refused with its field.
    func testMoreDamagedSeedValuesAreRefused() throws {
        let cases: [(String, (inout [String: Any]) -> Void)] = [
            ("outcome.virtual_nanoseconds", { t in var o = t["outcome"] as! [String: Any]; o["virtual_nanoseconds"] = -1; t["outcome"] = o }),
            ("outcome.kind", { t in var o = t["outcome"] as! [String: Any]; o["kind"] = "whatever"; t["outcome"] = o }),
            ("outcome.checker", { t in var o = t["outcome"] as! [String: Any]; o["checker"] = "nope"; t["outcome"] = o }),
            ("simulator_version", { t in t["simulator_version"] = "" }),
            ("defects[1]", { t in t["defects"] = ["A2", "A2"] }),
            ("side_a", { t in self.faults(&t) { f in f["partitions"] = [["side_a": ["ps-0", "ps-0"], "side_b": ["ps-1"], "at_ms": 5, "duration_ms": 5]] } }),
            ("duration_ms", { t in self.faults(&t) { f in f["partitions"] = [["side_a": ["ps-0"], "side_b": ["ps-1"], "at_ms": 5, "duration_ms": 0]] } }),
            ("faults.heal_at_ms", { t in self.faults(&t) { f in f["heal_at_ms"] = 86_400_000 } }),
            ("faults.disk.sector_size", { t in self.faults(&t) { f in var d = f["disk"] as! [String: Any]; d["sector_size"] = 3; f["disk"] = d } }),
            ("seed", { t in t["seed"] = -1 }),
            ("numerator", { t in self.faults(&t) { f in var n = f["network"] as! [String: Any]; n["drop_probability"] = ["numerator": -1, "denominator": 2]; f["network"] = n } }),
        ]
        for (field, change) in cases { try assertBadInput(["replay", try damagedSeed(change)], mentions: field) }
        // Numbers with a fraction or an exponent, and integers beyond 64 bits, at their line.
        let text = try String(contentsOf: Chaos05.packageRoot.appendingPathComponent("Seeds/05_distributed_training_hang-A2-deadlock-1.seed"), encoding: .utf8)
        let lines = text.components(separatedBy: "\n")
        let eventsLine = try XCTUnwrap(lines.firstIndex { $0.hasPrefix("  \"events\" : ") })
        for replacement in ["  \"events\" : 4760.0,", "  \"events\" : 4.76e3,", "  \"events\" : 18446744073709551616,"] {
            var changed = lines
            changed[eventsLine] = replacement
            let path = folder.appendingPathComponent("n-\(UInt32.random(in: 0 ... .max)).seed").path
            try changed.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
            try assertBadInput(["replay", path], mentions: ":\(eventsLine + 1): document")
        }
    }

    /// A write to standard output that fails is reported (exit 2), not lost.
    func testAFailedWriteToStandardOutputIsReported() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ExploreTests.simrun)
        process.arguments = ["list", "defects"]
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: "/dev/full"))
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        process.waitUntilExit()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(process.terminationStatus, 2, message)
        XCTAssertTrue(message.hasPrefix("simrun: error: cannot write to standard output"), message)
    }
}
