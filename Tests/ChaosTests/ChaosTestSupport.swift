import Foundation
import XCTest
@testable import Chaos
@testable import SimKernel
@testable import SimServices

/// Shared helpers of the chaos suites.
enum Chaos05 {
    /// The package root, found from this file's path (tests run from any directory).
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let scenario: Scenario = {
        try! ScenarioLoader.load(nameOrPath: packageRoot.appendingPathComponent("Scenarios/05_distributed_training_hang.yaml").path)
    }()

    /// Runs scenario 05 with `seed`, the given defects and fault profile.
    static func run(seed: UInt64, defects: [DefectID] = [], profile: FaultProfile? = nil,
                    adjust: (inout Scenario) -> Void = { _ in }) -> RunResult {
        var scenario = self.scenario
        adjust(&scenario)
        let configuration = RunConfiguration(scenario: scenario, seed: seed, defects: DefectSet(defects),
                                             faults: scenario.faultOptions(seed: seed, profile: profile))
        return ScenarioRunner.run(configuration)
    }

    /// Asserts a run passed and the job learned.
    static func assertHealthy(_ result: RunResult, seed: UInt64, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(result.outcome, .passed, "seed \(seed): \(result.outcome)", file: file, line: line)
        XCTAssertEqual(result.workerClocks, [40, 40, 40], "seed \(seed)", file: file, line: line)
        XCTAssertGreaterThanOrEqual(result.finalAccuracy ?? 0, 0.8, "seed \(seed)", file: file, line: line)
    }

    /// The first seed in `seeds` whose run fails with `checker`, with its result.
    static func firstFailure(defect: DefectID, checker: String, seeds: ClosedRange<UInt64>) -> (UInt64, RunResult)? {
        for seed in seeds {
            let result = run(seed: seed, defects: [defect])
            if result.outcome.isFailure {
                XCTAssertEqual(result.outcome.checker, checker, "defect \(defect) seed \(seed) failed differently: \(result.outcome)")
                return (seed, result)
            }
        }
        return nil
    }
}
