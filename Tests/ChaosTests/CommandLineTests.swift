import Foundation
import XCTest
@testable import Chaos
import SimServices

/// The command line's contract: exit codes, one-line errors, the JSON keys scripts rely on.
final class CommandLineTests: XCTestCase {
    private func simrun(_ arguments: [String]) throws -> (status: Int32, output: String, error: String) {
        try runSimrun(arguments, in: Chaos05.packageRoot)
    }

    func testScenarioJSONHasTheDocumentedKeysAndExitCodes() throws {
        let failing = try simrun(["scenario", "05_distributed_training_hang", "--seed", "1", "--defects", "A9", "--json", "--no-seed-file"])
        XCTAssertEqual(failing.status, 1)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(failing.output.utf8)) as? [String: Any])
        for key in ["outcome", "fingerprint", "events", "virtual_seconds", "wall_seconds", "seed_file"] { XCTAssertNotNil(object[key], key) }
        XCTAssertEqual(object["outcome"] as? String, "violation")
        XCTAssertTrue(object["seed_file"] is NSNull)
        let faults = try XCTUnwrap(object["fault_options"] as? [String: Any], "the faults as a structure, not only a summary")
        for key in ["profile", "network", "disk", "crashes", "partitions", "clockSkewMs", "healAtMs"] { XCTAssertNotNil(faults[key], key) }
        let passing = try simrun(["scenario", "05_distributed_training_hang", "--seed", "1", "--defects", "none", "--faults", "none", "--json"])
        XCTAssertEqual(passing.status, 0)
    }

    func testBadInputIsOneLineWithExitCode2() throws {
        for arguments in [["scenario", "nope"], ["scenario", "05_distributed_training_hang", "--defects", "Z1"],
                          ["scenario", "05_distributed_training_hang", "--faults", "storm"], ["replay", "/nonexistent.seed"],
                          ["explore", "05_distributed_training_hang", "--seeds", "9..1"], ["list", "things"],
                          // Mistakes the argument parser catches: no usage dump, exit 2, not 64.
                          ["scenario"], ["scenario", "05_distributed_training_hang", "--seed", "abc"], ["bogus"],
                          ["scenario", "05_distributed_training_hang", "--no-such-flag"],
                          // A defect with no code path in the scenario, and an empty list.
                          ["scenario", "00_cold_start", "--defects", "A1"], ["scenario", "05_distributed_training_hang", "--defects", ""]] {
            let result = try simrun(arguments)
            XCTAssertEqual(result.status, 2, "\(arguments)")
            XCTAssertTrue(result.error.hasPrefix("simrun: error: "), "\(arguments): \(result.error)")
            XCTAssertEqual(result.error.split(separator: "\n").count, 1, "\(arguments): \(result.error)")
        }
    }

    func testHelpStillPrintsUsageAndExits0() throws {
        let result = try simrun(["scenario", "--help"])
        XCTAssertEqual(result.status, 0)
        XCTAssertTrue(result.output.contains("USAGE: simrun scenario"), result.output)
        XCTAssertTrue(result.output.contains("--stop-at-first"), "documents the keep-going default")
    }

    func testBenchJSONHasTheDocumentedKeys() throws {
        let result = try simrun(["bench", "--json", "--trials", "1", "--events", "20000", "--skip-large"])
        XCTAssertEqual(result.status, 0)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
        for key in ["kernel_events_per_s", "c_events_per_s", "ratio_to_c", "async_roundtrips_per_s"] { XCTAssertNotNil(object[key], key) }
        XCTAssertGreaterThan(object["kernel_events_per_s"] as? Double ?? 0, 0)
    }

    func testWithoutASeedEachScenarioRunPicksOneAndPrintsItFirst() throws {
        var seeds: [String] = []
        for _ in 0 ..< 2 {
            let result = try simrun(["scenario", "05_distributed_training_hang", "--defects", "none", "--faults", "none", "--no-seed-file"])
            XCTAssertEqual(result.status, 0, result.error)
            let first = try XCTUnwrap(result.output.split(separator: "\n").first)
            XCTAssertTrue(first.hasPrefix("SEED="), String(first))
            seeds.append(String(first.prefix { $0 != " " }))
        }
        // Drawn from 1...999,999,999: two equal draws have a chance of one in a billion.
        XCTAssertNotEqual(seeds[0], seeds[1])
    }

    func testAMistypedSubcommandIsNamedWithTheOneMeant() throws {
        let result = try simrun(["scenari", "05_distributed_training_hang"])
        XCTAssertEqual(result.status, 2)
        XCTAssertEqual(result.error, "simrun: error: unknown subcommand 'scenari'. Did you mean 'scenario'? (see simrun --help)\n")
        let unlike = try simrun(["frobnicate"])
        XCTAssertTrue(unlike.error.contains("subcommands: scenario, replay, explore"), unlike.error)
        XCTAssertEqual(try simrun(["help", "list"]).status, 0, "help is not a mistyped subcommand")
    }

    func testVersionPrintsTheSimulatorVersion() throws {
        let result = try simrun(["--version"])
        XCTAssertEqual(result.status, 0)
        XCTAssertEqual(result.output, "simrun \(ScenarioRunner.simulatorVersion)\n")
    }

    func testListAndCheckDeterminismSpeakJSON() throws {
        let defects = try simrun(["list", "defects", "--json"])
        let rows = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(defects.output.utf8)) as? [[String: Any]])
        XCTAssertEqual(rows.count, DefectCatalogue.entries.count)
        XCTAssertEqual(rows.first?["id"] as? String, DefectCatalogue.entries.first?.id.rawValue)
        let scenarios = try simrun(["list", "scenarios", "--json"])
        let names = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(scenarios.output.utf8)) as? [[String: Any]]).compactMap { $0["name"] as? String }
        XCTAssertEqual(names, ScenarioLoader.shippedNames())
        let check = try simrun(["check-determinism", "05_distributed_training_hang", "--seed", "3", "--faults", "none", "--json"])
        XCTAssertEqual(check.status, 0, check.error)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(check.output.utf8)) as? [String: Any])
        XCTAssertEqual(object["deterministic"] as? Bool, true)
        let fingerprints = try XCTUnwrap(object["fingerprints"] as? [String])
        XCTAssertEqual(fingerprints.count, 2)
        XCTAssertEqual(fingerprints[0], fingerprints[1])
    }

    func testReplayWritesTheTraceOfTheRecordedRun() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("replay-trace-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let seed = Chaos05.packageRoot.appendingPathComponent("Seeds/04_ab_test_disaster-B8-output-type-1.seed").path
        let trace = folder.appendingPathComponent("replay.jsonl").path
        let result = try simrun(["replay", seed, "--trace", trace, "--json"])
        XCTAssertEqual(result.status, 0, result.error)
        let replay = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
        let lines = try String(contentsOfFile: trace, encoding: .utf8).split(separator: "\n")
        XCTAssertGreaterThan(lines.count, 1000)
        // The trace's last line carries the run's fingerprint: the recorded one.
        let last = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(lines.last!.utf8)) as? [String: Any])
        XCTAssertEqual(last["fingerprint"] as? String, replay["recorded_fingerprint"] as? String)
        XCTAssertEqual(try simrun(["replay", seed, "--trace", folder.appendingPathComponent("no/such/dir/t.json").path]).status, 2)
    }

    func testAPortfolioRunsOddSeedsRandomAndEvenSeedsPCT() throws {
        XCTAssertEqual(RunConfiguration.portfolioStrategy(seed: 1), .random)
        XCTAssertEqual(RunConfiguration.portfolioStrategy(seed: 2), .pct(depth: 3))
        for (seed, expected) in [("3", "strategy=random"), ("4", "strategy=pct(depth 3)")] {
            let result = try simrun(["scenario", "05_distributed_training_hang", "--seed", seed, "--strategy", "portfolio", "--defects", "none", "--faults", "none", "--no-seed-file"])
            XCTAssertEqual(result.status, 0, result.error)
            XCTAssertTrue(result.output.hasPrefix("SEED=\(seed) ") && result.output.split(separator: "\n")[0].contains(expected), result.output)
        }
        XCTAssertEqual(try simrun(["scenario", "05_distributed_training_hang", "--strategy", "portfolios"]).status, 2)
    }

    func testTheMM1BenchPrintsCustomersPerSecondAndTheMeanTimeInSystem() throws {
        let result = try simrun(["bench", "--mm1", "--customers", "20000", "--json"])
        XCTAssertEqual(result.status, 0, result.error)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
        XCTAssertGreaterThan(object["customers_per_s"] as? Double ?? 0, 0)
        XCTAssertEqual(object["customers"] as? Int, 20000)
        XCTAssertGreaterThan(object["mean_time_in_system"] as? Double ?? 0, 0)
        XCTAssertNotNil(object["ratio_to_simpy"], "present, null without SimPy")
        XCTAssertEqual(try simrun(["bench", "--mm1", "--customers", "5"]).status, 2)
    }

    func testExploreJSONListsItsFailingSeeds() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("explore-json-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let result = try simrun(["explore", "05_distributed_training_hang", "--defects", "A9", "--seeds", "1..3", "--jobs", "1", "--json",
                                 "--results", folder.appendingPathComponent("r.sqlite").path, "--seeds-out", folder.appendingPathComponent("seeds").path])
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.output.split(separator: "\n").last.map(String.init)?.utf8 ?? "".utf8)) as? [String: Any], result.output)
        let failing = try XCTUnwrap(object["failing_seeds"] as? [[String: Any]])
        XCTAssertEqual(failing.count, object["failures"] as? Int)
        XCTAssertEqual(failing.compactMap { $0["seed"] as? Int }, [1, 2, 3], "A9 fails every seed")
        XCTAssertTrue(failing.allSatisfy { ($0["seed_file"] as? String).map { FileManager.default.fileExists(atPath: $0) } ?? false })
    }
}
