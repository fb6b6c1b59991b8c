import Foundation
import XCTest
@testable import Chaos

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
}
