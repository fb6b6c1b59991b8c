import Foundation
import XCTest
@testable import Chaos
@testable import SimKernel
@testable import SimServices

/// Scenario 01, the model serving memory crisis.
let Serving01 = ShippedScenario("01_model_memory_crisis")

final class ModelMemoryCrisisTests: XCTestCase {
    func testTheScenarioLoadsWithItsStatedValues() throws {
        let scenario = Serving01.scenario
        XCTAssertEqual(scenario.defects, [.B1, .H1])
        XCTAssertEqual(scenario.topology.nodes(role: "inference").map(\.name), ["inference", "inference-b", "inference-c"])
        XCTAssertEqual(scenario.topology.nodes(role: "inference").map(\.memoryMiB), [32768, 32768, 32768],
                       "the standard inference node listed again sets its memory")
        let workload = try XCTUnwrap(scenario.workloads.compactMap { $0 as? ModelDeploymentsWorkload }.first)
        XCTAssertEqual(workload.deploys, 60)
        XCTAssertEqual(workload.serving.cacheSize, 10)
        XCTAssertEqual(workload.serving.baseMiB, 8192)
        XCTAssertEqual(workload.serving.predictionMillis, 5 ... 40)
        XCTAssertEqual(scenario.checks, ["model-memory", "serving", "routing", "cold-start", "service-invariants"])
    }

    /// Without defects every version is deployed, every replica holds exactly its base memory and
    /// ten versions of 500 MiB at the end, and no prediction failed.
    func testWithoutDefectsMemoryStaysAtBasePlusTheCachedVersions() throws {
        for seed in UInt64(1) ... 2 {
            let configuration = Serving01.configuration(seed: seed, defects: [])
            let simulation = Simulation(seed: seed, options: ScenarioRunner.options(for: configuration))
            let built = ScenarioRunner.build(simulation, configuration)
            let outcome = simulation.run()
            XCTAssertEqual(outcome, .passed, "seed \(seed)")
            _ = built
            let serving = simulation.serving
            XCTAssertEqual(serving.deployments.count, 60, "seed \(seed)")
            XCTAssertFalse(serving.answers.isEmpty)
            XCTAssertTrue(serving.answers.allSatisfy { $0.status == 200 || $0.status == 503 || $0.status == 502 || $0.status == 504 }, "seed \(seed)")
            for name in ["inference", "inference-b", "inference-c"] {
                let node = try XCTUnwrap(simulation.node(named: name))
                let replica = try XCTUnwrap(serving.replicas[name])
                guard node.state == .up, replica.epoch == node.epoch else { continue }
                XCTAssertEqual(replica.cached.count, 10, "seed \(seed) \(name)")
                XCTAssertEqual(node.memoryUsed, (8192 + 10 * 500) << 20, "seed \(seed) \(name)")
            }
        }
    }

    func testB1IsFoundByTheMemoryCheckWithin3Seeds() {
        // Measured: 200 of 200 seeds fail.
        Serving01.assertFound(.B1, checker: "model-memory", within: 3, messageContains: "of evicted model versions is still referenced")
    }

    /// H1 fails 131 of 200 seeds (65.5 %): 20 passing seeds in a row has probability 0.345^20 < 1e-9.
    func testH1IsFoundByTheServingCheckWithin20Seeds() {
        Serving01.assertFound(.H1, checker: "serving", within: 20, messageContains: "was unloaded during the prediction")
    }

    func testEveryServingDefectHasASeedFileThatReplays() throws {
        let folder = Chaos05.packageRoot.appendingPathComponent("Seeds")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasPrefix("01_model_memory_crisis-") }.sorted()
        let covered = Set(try files.flatMap { try SeedFile.load(path: folder.appendingPathComponent($0).path).defects })
        XCTAssertEqual(covered, [.B1, .H1])
        for name in files {
            let file = try SeedFile.load(path: folder.appendingPathComponent(name).path)
            let verdict = Replay.run(file, scenario: Serving01.scenario)
            XCTAssertTrue(verdict.matches, "\(name): \(verdict.differences)")
        }
    }

    func testServingDefectsAreRefusedWhereTheyCannotFire() {
        XCTAssertEqual(Chaos05.scenario.whyDefectCannotFire(.B1), "B1's code path runs under the model_deployments workload, which this scenario does not have")
        XCTAssertNil(Serving01.scenario.whyDefectCannotFire(.H1))
        XCTAssertNotNil(ModelMemoryChecker.whyItCannotFire(in: Chaos05.scenario))
    }
}

final class ModelDeploymentsLoadingTests: XCTestCase {
    private func load(_ workload: String, nodes: String = "[{name: client, role: client}]") -> Result<Scenario, ScenarioError> {
        let text = """
            name: serving
            topology:
              platform: standard
              nodes: \(nodes)
            workloads:
              model_deployments: \(workload)
            duration_s: 150
            """
        do { return .success(try ScenarioLoader.parse(text, file: "serving.yaml")) } catch { return .failure(error) }
    }

    func testAPredictionRangeUpsideDownIsRefusedWithItsLine() {
        guard case .failure(let error) = load("{prediction_ms_min: 50, prediction_ms_max: 10}") else { return XCTFail("accepted") }
        XCTAssertEqual(error.description, "serving.yaml:6: workloads.model_deployments.prediction_ms_max: 10 is below prediction_ms_min (50)")
    }

    func testUnknownKeysAndBadModelNamesAreRefused() {
        guard case .failure(let unknown) = load("{deploy: 3}") else { return XCTFail("accepted") }
        XCTAssertTrue(unknown.description.contains("workloads.model_deployments"), unknown.description)
        guard case .failure(let name) = load("{model: 'a b'}") else { return XCTFail("accepted") }
        XCTAssertTrue(name.description.hasSuffix("'a b' is not a model name (letters, digits and '-')"), name.description)
    }

    func testAStandardNodeListedAgainWithAnotherRoleIsStillADuplicate() {
        guard case .failure(let error) = load("{}", nodes: "[{name: client, role: client}, {name: inference, role: models}]") else { return XCTFail("accepted") }
        XCTAssertTrue(error.description.contains("node 'inference' is listed twice"), error.description)
        guard case .failure(let twice) = load("{}", nodes: "[{name: client, role: client}, {name: inference, role: inference}, {name: inference, role: inference}]") else {
            return XCTFail("accepted")
        }
        XCTAssertTrue(twice.description.contains("node 'inference' is listed twice"), twice.description)
    }

    func testWorkloadValuesReachTheServingConfiguration() throws {
        let scenario = try load("{cache_size: 3, base_mib: 100, prediction_ms_min: 1, prediction_ms_max: 2, deploys: 4}").get()
        let workload = try XCTUnwrap(scenario.workloads.first as? ModelDeploymentsWorkload)
        var serving = ServingConfiguration()
        workload.configure(serving: &serving)
        XCTAssertEqual(serving.cacheSize, 3)
        XCTAssertEqual(serving.baseMiB, 100)
        XCTAssertEqual(serving.predictionMillis, 1 ... 2)
        XCTAssertEqual(workload.deploys, 4)
    }
}
