import FirstSimulation
import SimKernel
import XCTest

/// docs/library.md's example, as a user would test it: seeds explored, a failure's seed printed,
/// and the seed replayed to the same outcome and fingerprint.
final class FirstSimulationTests: XCTestCase {
    func testTheStoreLosesNoAcknowledgedWriteInFiftySeeds() {
        for seed in UInt64(1) ... 50 {
            let run = runKeyValueStore(seed: seed, ackBeforeSync: false)
            XCTAssertEqual(run.outcome, .passed, "SEED=\(seed)")
        }
    }

    func testAcknowledgingBeforeTheSyncIsFoundAndItsSeedReplays() throws {
        let failing = (UInt64(1) ... 50).lazy.map { ($0, runKeyValueStore(seed: $0, ackBeforeSync: true)) }.first { $0.1.outcome != .passed }
        let (seed, run) = try XCTUnwrap(failing, "the bug should lose a write within 50 seeds")
        print("SEED=\(seed): \(run.outcome)")  // what a user's test prints, to replay it
        XCTAssertEqual(run.outcome.checker, "lost-write")
        let replay = runKeyValueStore(seed: seed, ackBeforeSync: true)
        XCTAssertEqual(replay.outcome, run.outcome)
        XCTAssertEqual(replay.fingerprint, run.fingerprint)
    }
}
