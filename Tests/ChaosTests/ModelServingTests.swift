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
        XCTAssertEqual(scenario.defects, [.B1, .H1, .H8, .H4, .H5, .H6, .B6, .H3, .B9, .M1, .B4, .B10])
        XCTAssertEqual(scenario.topology.nodes(role: "inference").map(\.name), ["inference", "inference-b", "inference-c"])
        XCTAssertEqual(scenario.topology.nodes(role: "inference").map(\.memoryMiB), [32768, 32768, 32768],
                       "the standard inference node listed again sets its memory")
        let workload = try XCTUnwrap(scenario.workloads.compactMap { $0 as? ModelDeploymentsWorkload }.first)
        XCTAssertEqual(workload.deploys, 60)
        XCTAssertEqual(workload.serving.cacheSize, 10)
        XCTAssertEqual(workload.serving.baseMiB, 8192)
        XCTAssertEqual(workload.serving.predictionMillis, 5 ... 40)
        XCTAssertEqual(workload.rollbackEvery, 7)
        XCTAssertEqual(workload.serving.predictionCacheMillis, 60000)
        XCTAssertEqual(workload.canaryPercent, 10)
        XCTAssertEqual(workload.canaryRollbackEvery, 9)
        XCTAssertEqual(workload.serving.autoscaleTargetPerReplica, 20)
        XCTAssertEqual(scenario.checks, ["model-memory", "serving", "served-weights", "production-version", "cache-eviction", "artifact-reads", "canary-rollback",
                                         "autoscaling", "routing", "rate-limit", "cold-start", "service-invariants"])
    }

    /// Without defects every version is deployed (promoted, or rolled back as a canary), every
    /// replica holds exactly its base memory and ten versions of 500 MiB at the end, no prediction
    /// failed, and every answer is its version's weights applied to its input.
    func testWithoutDefectsMemoryStaysAtBasePlusTheCachedVersions() throws {
        for seed in UInt64(1) ... 2 {
            let configuration = Serving01.configuration(seed: seed, defects: [])
            let simulation = Simulation(seed: seed, options: ScenarioRunner.options(for: configuration))
            let built = ScenarioRunner.build(simulation, configuration)
            let outcome = simulation.run()
            XCTAssertEqual(outcome, .passed, "seed \(seed)")
            _ = built
            let serving = simulation.serving
            XCTAssertEqual(serving.deployments.count + serving.canaryRollbacks.count, 60, "seed \(seed)")
            XCTAssertEqual(serving.canaryRollbacks.count, 6, "seed \(seed): every 9th of 60 canaries")
            XCTAssertFalse(serving.answers.isEmpty)
            let workload = try XCTUnwrap(Serving01.scenario.workloads.compactMap { $0 as? ModelDeploymentsWorkload }.first)
            for answer in serving.answers where answer.status == 200 {
                let weights = workload.artifact(version: try XCTUnwrap(answer.servedVersion)).weights
                XCTAssertEqual(answer.p, LogisticModel.sigmoid(LogisticModel.score(weights, try XCTUnwrap(answer.inputs))), "seed \(seed)")
            }
            XCTAssertTrue(serving.concurrentArtifactReads.isEmpty, "seed \(seed): one read per version at a time")
            XCTAssertFalse(serving.answers.contains { $0.isInternalError }, "seed \(seed): no prediction failed with an internal error")
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

    /// H1 evicts the oldest loaded version, in use or not: the eviction check sees the wrong victim
    /// (measured: 200 of 200 seeds, first seed 1).
    func testH1IsFoundByTheEvictionCheckWithin5Seeds() {
        Serving01.assertFound(.H1, checker: "cache-eviction", within: 5, messageContains: "evicted t1/fraud-detector")
    }

    func testH8FirstInFirstOutEvictionIsFoundByTheEvictionCheckWithin5Seeds() {
        Serving01.assertFound(.H8, checker: "cache-eviction", within: 5, messageContains: "not the least recently used version")
    }

    func testH4StampedeIsFoundByTheArtifactReadsCheckWithin10Seeds() {
        Serving01.assertFound(.H4, checker: "artifact-reads", within: 10, messageContains: "times at once")
    }

    func testH5StalePointerIsFoundByTheProductionVersionCheckWithin5Seeds() {
        Serving01.assertFound(.H5, checker: "production-version", within: 5, messageContains: "Production")
    }

    func testH6StaleCacheEntryIsFoundByTheServedWeightsCheckWithin5Seeds() {
        Serving01.assertFound(.H6, checker: "served-weights", within: 5, messageContains: "(computed by another version)")
    }

    func testB6VersionlessCacheKeyIsFoundByTheServedWeightsCheckWithin5Seeds() {
        Serving01.assertFound(.B6, checker: "served-weights", within: 5, messageContains: "'s weights give")
    }

    func testH3HashCollisionIsFoundByTheServedWeightsCheckWithin5Seeds() {
        Serving01.assertFound(.H3, checker: "served-weights", within: 5, messageContains: "for input")
    }

    func testB9SwapRaceIsFoundByTheServedWeightsCheckWithin5Seeds() {
        Serving01.assertFound(.B9, checker: "served-weights", within: 5, messageContains: "(computed by another version)")
    }

    func testM1RollbackWithWrongWeightsIsFoundByTheServedWeightsCheckWithin5Seeds() {
        Serving01.assertFound(.M1, checker: "served-weights", within: 5, messageContains: "(computed by another version)")
    }

    func testB4CanaryResurrectedIsFoundByTheCanaryCheckWithin10Seeds() {
        Serving01.assertFound(.B4, checker: "canary-rollback", within: 10, messageContains: "the canary again")
    }

    func testB10StaleMetricsAreFoundByTheAutoscalingCheckWithin5Seeds() {
        Serving01.assertFound(.B10, checker: "autoscaling", within: 5, messageContains: "beyond the 3000 ms window")
    }

    func testEveryServingDefectHasASeedFileThatReplays() throws {
        let folder = Chaos05.packageRoot.appendingPathComponent("Seeds")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasPrefix("01_model_memory_crisis-") }.sorted()
        let covered = Set(try files.flatMap { try SeedFile.load(path: folder.appendingPathComponent($0).path).defects })
        XCTAssertEqual(covered, [.B1, .B4, .B6, .B9, .B10, .H1, .H3, .H4, .H5, .H6, .H8, .M1])
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
