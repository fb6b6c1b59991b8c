import FirstSimulation
import Foundation
import SimKernel
import SimTesting
import XCTest

/// docs/library.md's example, as a user would test it: seeds explored with the test helper, a
/// failure's seed printed with the command that reproduces it, and the seed replayed.
final class FirstSimulationTests: XCTestCase {
    func testTheStoreLosesNoAcknowledgedWriteInFiftySeeds() {
        XCTAssertSimulationPasses(seeds: 1 ... 50) { seed in
            let run = runKeyValueStore(seed: seed, ackBeforeSync: false)
            return SeedRun(outcome: run.outcome, fingerprint: run.fingerprint)
        }
    }

    func testAcknowledgingBeforeTheSyncIsFoundAndItsSeedReplays() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("simtest-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let failure = try XCTUnwrap(SimulationTest.firstFailure("FirstSimulationTests.lostWrite", seeds: 1 ... 50, environment: [:], seedsFolder: folder) { seed in
            let run = runKeyValueStore(seed: seed, ackBeforeSync: true)
            return SeedRun(outcome: run.outcome, fingerprint: run.fingerprint)
        }, "the bug should lose a write within 50 seeds")
        XCTAssertEqual(failure.run.outcome.checker, "lost-write")
        XCTAssertEqual(failure.reproduce, "SIM_TEST_SEED=\(failure.seed) swift test --filter 'FirstSimulationTests.lostWrite'")
        // The seed file names the seed, and the seed replays to the same outcome and fingerprint.
        let file = try XCTUnwrap(failure.seedFile)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file))) as? [String: Any])
        XCTAssertEqual(object["seed"] as? UInt64, failure.seed)
        XCTAssertEqual(object["checker"] as? String, "lost-write")
        let replay = runKeyValueStore(seed: failure.seed, ackBeforeSync: true)
        XCTAssertEqual(replay.outcome, failure.run.outcome)
        XCTAssertEqual(replay.fingerprint, failure.run.fingerprint)
    }

    func testTheSeedsComeFromTheEnvironmentWhenItNamesThem() {
        XCTAssertEqual(SimulationTest.seeds(1 ... 3, environment: [:]), [1, 2, 3])
        XCTAssertEqual(SimulationTest.seeds(1 ... 3, environment: ["SIM_TEST_SEED": "42"]), [42], "one seed, to reproduce a failure")
        XCTAssertEqual(SimulationTest.seeds(1 ... 3, environment: ["SIM_TEST_SEEDS": "10..12"]), [10, 11, 12])
        XCTAssertEqual(SimulationTest.seeds(1 ... 3, environment: ["SIM_TEST_SEEDS": "10...11"]), [10, 11])
        // Only the seed named runs: a fixed store passes it, the buggy one fails it.
        XCTAssertNil(SimulationTest.firstFailure("t", seeds: 1 ... 50, environment: ["SIM_TEST_SEED": "1"], seedsFolder: "/dev/null/x") { seed in
            SeedRun(outcome: runKeyValueStore(seed: seed, ackBeforeSync: false).outcome, fingerprint: 0)
        })
        let failure = SimulationTest.firstFailure("t", seeds: 1 ... 50, environment: ["SIM_TEST_SEED": "1"], seedsFolder: "/dev/null/x") { seed in
            SeedRun(outcome: runKeyValueStore(seed: seed, ackBeforeSync: true).outcome, fingerprint: 0)
        }
        XCTAssertEqual(failure?.seed, 1)
        XCTAssertNil(failure?.seedFile, "a seed file that cannot be written is left out, the failure still reported")
    }
}
