import Foundation
import XCTest
@testable import Chaos
@testable import SimKernel
@testable import SimServices

/// Deny by default across the platform: the gateway refuses every request without a token, so
/// every workload's user authenticates, and a platform service calling through the gateway does
/// so under its own signed identity. A scenario whose client still relied on anonymous access
/// would show gateway refusals "no credentials" (and fail its own liveness checks).
final class DenyByDefaultTests: XCTestCase {
    static func simulate(_ name: String, seed: UInt64) -> (Outcome, Simulation) {
        let scenario = try! ScenarioLoader.load(nameOrPath: Chaos05.packageRoot.appendingPathComponent("Scenarios/\(name).yaml").path)
        let configuration = RunConfiguration(scenario: scenario, seed: seed, defects: .empty, faults: scenario.faultOptions(seed: seed, profile: nil))
        let simulation = Simulation(seed: seed, options: ScenarioRunner.options(for: configuration))
        _ = ScenarioRunner.build(simulation, configuration)
        return (simulation.run(), simulation)
    }

    /// Scenarios 00 to 05 (no attacker among their clients; 07's trainers never call the
    /// gateway), seed 1, defects off: each passes, the gateway verified tokens for its requests,
    /// and it refused none (for want of credentials, or of a grant).
    func testEveryScenarioClientAuthenticatesAndNothingIsRefusedForWantOfCredentials() {
        for name in ["00_cold_start", "01_model_memory_crisis", "02_training_reproducibility", "03_feature_drift_storm", "04_ab_test_disaster", "05_distributed_training_hang"] {
            let (outcome, simulation) = Self.simulate(name, seed: 1)
            XCTAssertEqual(outcome, .passed, name)
            // Nothing at all refused at the gateway: no request without a token, no platform
            // service's call outside its role's grants, no client's outside its role's.
            let refused = simulation.security.refusals.filter { $0.service == "gateway" }
            XCTAssertEqual(refused.map { "\($0.caller): \($0.reason) \($0.detail)" }, [], "\(name): requests refused at the gateway")
            XCTAssertFalse(simulation.security.authorized.isEmpty, "\(name): the gateway verified its clients' tokens")
        }
    }

    /// Scenario 02's workers log their runs through the gateway as `svc:workers` and the training
    /// service checks datasets as `svc:training` (signed, no token): the gateway admitted both
    /// under their own identity beside the scientist's, refused none of their requests, and the
    /// workers trained.
    func testPlatformServicesCallThroughTheGatewayUnderTheirOwnIdentity() {
        let (outcome, simulation) = Self.simulate("02_training_reproducibility", seed: 1)
        XCTAssertEqual(outcome, .passed)
        let callers = Set(simulation.platformObservations.admissions.keys)
        XCTAssertTrue(callers.isSuperset(of: ["platform/svc:workers", "platform/svc:training", "t1/ml-engineer"]), "\(callers.sorted())")
        XCTAssertEqual(simulation.security.refusals.filter { $0.service == "gateway" }.map { "\($0.caller): \($0.reason)" }, [])
        XCTAssertFalse(simulation.trainingRuns.steps.isEmpty, "the workers trained")
    }
}
