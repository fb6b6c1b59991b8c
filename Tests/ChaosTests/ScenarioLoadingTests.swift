import Foundation
import XCTest
@testable import Chaos
@testable import SimServices

/// Bad scenario files get one-line errors naming the file, the line and the field.
final class ScenarioLoadingTests: XCTestCase {
    private let minimal = """
        name: tiny
        topology:
          platform: standard
          nodes: [{name: ps-0, role: parameter_server}, {name: worker-0, role: trainer}, {name: worker-1, role: trainer}, {name: client, role: client}]
        workloads:
          training_job:
            steps: 10
        duration_s: 150
        """

    private func error(_ text: String) -> ScenarioError? {
        do {
            _ = try ScenarioLoader.parse(text, file: "tiny.yaml")
            return nil
        } catch { return error }
    }

    func testShippedScenarioLoadsWithItsStatedValues() {
        let scenario = Chaos05.scenario
        XCTAssertEqual(scenario.name, "05_distributed_training_hang")
        XCTAssertEqual(scenario.defects, [.A1, .A2, .A9, .F10])
        XCTAssertEqual(scenario.platform.job.syncMode, .ssp)
        XCTAssertEqual(scenario.platform.job.staleness, 2)
        XCTAssertEqual(scenario.platform.workerSpeedPercent, [100, 100, 250])
        XCTAssertEqual(scenario.faultProfile, .lite)
        XCTAssertEqual(scenario.checks, ["deadlock", "ps-consistency", "staleness", "checkpoint-integrity", "accumulation", "routing", "cold-start", "progress", "service-invariants"])
        XCTAssertEqual(scenario.topology.nodes.count, 30)
        XCTAssertEqual(scenario.topology.nodes(role: "trainer").map(\.name), ["worker-0", "worker-1", "worker-2"])
        XCTAssertTrue(scenario.incident.contains("checkpoint boundary"))
        XCTAssertEqual(ScenarioLoader.shippedNames().contains("05_distributed_training_hang"), true)
    }

    func testMinimalScenarioGetsDefaults() throws {
        let scenario = try ScenarioLoader.parse(minimal, file: "tiny.yaml")
        XCTAssertEqual(scenario.platform.workers, 2)
        XCTAssertEqual(scenario.platform.job.steps, 10)
        XCTAssertEqual(scenario.defects, [])
        XCTAssertEqual(scenario.faultProfile, .none)
    }

    func testUnknownKeyNamesFileLineAndField() {
        let e = error(minimal.replacingOccurrences(of: "    steps: 10", with: "    steps: 10\n    stpes: 3"))
        XCTAssertEqual(e?.description.hasPrefix("tiny.yaml:8: workloads.training_job.stpes: unknown key"), true, e?.description ?? "no error")
    }

    func testWrongTypeAndRangeAreReported() {
        XCTAssertEqual(error(minimal.replacingOccurrences(of: "steps: 10", with: "steps: many"))?.description,
                       "tiny.yaml:7: workloads.training_job.steps: expected an integer, got 'many'")
        XCTAssertEqual(error(minimal.replacingOccurrences(of: "{name: worker-0, role: trainer}", with: "{name: worker-0, role: trainer, speed_percent: 5}"))?.description,
                       "tiny.yaml:4: topology.nodes[1].speed_percent: 5 is out of range 10...1000")
    }

    func testUnknownDefectProfileAndCheckAreReported() {
        XCTAssertEqual(error(minimal + "\ndefects: [A1, Z9]")?.field, "defects[1]")
        XCTAssertEqual(error(minimal + "\nfaults:\n  profile: chaos")?.description, "tiny.yaml:10: faults.profile: unknown profile 'chaos' (none, lite, swarm)")
        XCTAssertEqual(error(minimal + "\nchecks: [deadlock, vibes]")?.field, "checks[1]")
    }

    func testInconsistentDurationIsReported() {
        let e = error(minimal.replacingOccurrences(of: "duration_s: 150", with: "duration_s: 50"))
        XCTAssertEqual(e?.field, "duration_s")
        XCTAssertEqual(e?.line, 8)
        XCTAssertTrue(e?.problem.contains("heal_at_s + liveness.converge_within_s") ?? false)
    }

    func testExplicitFaultsMustNameNodesOfTheTopology() {
        let e = error(minimal + "\nfaults:\n  crashes:\n    - node: ps-7\n      at_ms: 100")
        XCTAssertEqual(e?.field, "faults.crashes[0].node")
        XCTAssertTrue(e?.problem.contains("no node 'ps-7'") ?? false)
    }

    func testMalformedYAMLAndMissingNameAreReported() {
        let malformed = error("name: [unclosed")
        XCTAssertEqual(malformed?.field, "document")
        XCTAssertNotNil(malformed?.line)
        XCTAssertEqual(error("duration_s: 150")?.description, "tiny.yaml:1: name: missing")
        XCTAssertEqual(error("")?.problem, "the file is empty")
    }

    func testUnknownScenarioNameListsTheShippedOnes() {
        XCTAssertThrowsError(try ScenarioLoader.load(nameOrPath: "99_nope")) { error in
            XCTAssertTrue("\(error)".contains("no such scenario (shipped: "), "\(error)")
            XCTAssertTrue("\(error)".contains("05_distributed_training_hang"), "\(error)")
        }
    }

    func testScenarioDigestChangesWithTheText() throws {
        let a = try ScenarioLoader.parse(minimal, file: "a.yaml"), b = try ScenarioLoader.parse(minimal + "\n# comment", file: "a.yaml")
        XCTAssertNotEqual(a.digest, b.digest)
    }

    func testAnUnknownRoleOrADuplicateNodeIsReported() {
        XCTAssertEqual(error(minimal.replacingOccurrences(of: "role: parameter_server", with: "role: param_server"))?.field, "topology.nodes[0].role")
        XCTAssertEqual(error(minimal.replacingOccurrences(of: "name: worker-1", with: "name: worker-0"))?.problem, "node 'worker-0' is listed twice")
    }

    func testNoChecksBadPartitionsAndReplicatedGatewaysOrInfrastructureAreRefused() {
        XCTAssertEqual(error(minimal + "\nchecks: []")?.field, "checks")
        XCTAssertEqual(error("name: idle\ntopology: {nodes: [{name: solo, role: consul}]}")?.problem.hasPrefix("no check can fire"), true)
        let overlapping = error(minimal + "\nfaults:\n  partitions:\n    - {side_a: [ps-0, worker-0], side_b: [worker-0], at_ms: 10}")
        XCTAssertEqual(overlapping?.problem, "node 'worker-0' is on both sides")
        XCTAssertEqual(error(minimal + "\nfaults:\n  partitions:\n    - {side_a: [ps-0], side_b: [], at_ms: 10}")?.problem, "both sides need at least one node")
        let gateways = error(minimal.replacingOccurrences(of: "{name: client, role: client}", with: "{name: client, role: client}, {name: gateway-2, role: gateway}"))
        XCTAssertTrue(gateways?.problem.contains("one entry point") ?? false, gateways?.description ?? "no error")
        let databases = error(minimal.replacingOccurrences(of: "{name: client, role: client}", with: "{name: client, role: client}, {name: models-db-2, role: models_db}"))
        XCTAssertTrue(databases?.problem.contains("one node") ?? false, databases?.description ?? "no error")
        // A service's replicas are accepted: nodes of one service role.
        let replicas = try? ScenarioLoader.parse(minimal.replacingOccurrences(of: "{name: client, role: client}", with: "{name: client, role: client}, {name: scheduler-2, role: scheduler}"), file: "r.yaml")
        XCTAssertEqual(replicas?.topology.nodes(role: "scheduler").map(\.name), ["scheduler", "scheduler-2"])
    }

    /// Fault profiles draw only what the topology allows: a lite or swarm profile over a
    /// topology with nothing crashable (or a single node) draws no crash and no partition.
    func testProfilesOverATopologyWithNothingToCrashDrawNoCrash() {
        for seed in UInt64(1) ... 50 {
            for profile in [FaultProfile.lite, .swarm] {
                let options = profile.options(seed: seed, crashable: [], all: ["solo"], healAtMs: 30_000)
                XCTAssertTrue(options.crashes.isEmpty && options.partitions.isEmpty, "seed \(seed) \(profile)")
            }
        }
    }

    func testADefectWithNoCodePathHereIsRefused() {
        // L3's path runs under the first_requests workload (caught by cold-start), which this
        // scenario lacks.
        let e = error(minimal + "\ndefects: [A1, L3]")
        XCTAssertEqual(e?.field, "defects[1]")
        XCTAssertTrue(e?.problem.contains("first_requests") ?? false, e?.description ?? "no error")
        XCTAssertNil(error(minimal + "\ndefects: [A1]"))
    }

    func testACheckThatCanNeverFireIsRefused() {
        let coldStart = """
            name: boot
            topology: {platform: standard, nodes: [{name: client, role: client}]}
            workloads: {first_requests: {}}
            """
        let e = error(coldStart + "\nchecks: [routing, deadlock]")
        XCTAssertEqual(e?.field, "checks[1]")
        XCTAssertTrue(e?.problem.contains("can never fire") ?? false, e?.description ?? "no error")
        XCTAssertEqual(try ScenarioLoader.parse(coldStart, file: "boot.yaml").checks, ["routing", "cold-start", "service-invariants", "rate-limit"])
    }

    func testExplicitFaultsAreAppliedOnTopOfTheProfile() throws {
        let scenario = try ScenarioLoader.parse(minimal + "\nfaults:\n  profile: none\n  crashes:\n    - node: worker-1\n      at_ms: 100\n      restart_after_ms: 50", file: "x.yaml")
        let options = scenario.faultOptions(seed: 1)
        XCTAssertEqual(options.profile, "explicit")
        XCTAssertEqual(options.crashes, [CrashFault(node: "worker-1", atMs: 100, restartAfterMs: 50)])
    }
}
