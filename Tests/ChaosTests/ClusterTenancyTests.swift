import XCTest
@testable import Chaos
@testable import SimKernel
@testable import SimServices

/// Scenario 05's cluster runs its own tenant's job of its name (t1's `job-1`), end to end, when a
/// scientist of another tenant (bob, t2) submitted a job of the same name first: bob's job is a
/// job of his own, stays queued, and nothing of the cluster's run lands in his tenant.
final class ClusterTenancyTests: XCTestCase {
    struct Jobs {
        var rows: [[String]]  // the cluster's job name's jobs: id, tenant, submitted_by, state, in id order
        var bobFirst: Bool { rows.first?[1] == "t2" }
    }

    /// Scenario 05 at `seed` (its own faults) with bob submitting `job-1` from the client node as
    /// soon as the gateway answers; the training jobs at the end and the run's outcome.
    func run(seed: UInt64) -> (outcome: Outcome, jobs: Jobs, view: ServiceStateView) {
        let configuration = RunConfiguration(scenario: Chaos05.scenario, seed: seed, defects: .empty,
                                             faults: Chaos05.scenario.faultOptions(seed: seed, profile: nil))
        let simulation = Simulation(seed: seed, options: ScenarioRunner.options(for: configuration))
        let built = ScenarioRunner.build(simulation, configuration)
        let gateway = built.platform.directory.services["gateway"]!
        let job = built.platform.directory.training!.job
        built.platform.node("client")!.addProcess("rival") { context in
            let client = PlatformClient(gateway: gateway, user: "bob")
            let submission = HTTPRequest("POST", "training/jobs", body: ["job": job.name, "spec": TrainingService.encode(job)])
            _ = await client.askUntilDefinitive(context, submission)
        }
        let outcome = simulation.run()
        let view = ServiceStateView(simulation: simulation, topology: configuration.effectiveScenario.topology)
        let rows = view.rows("experiments_db", "SELECT id, tenant, submitted_by, state FROM training_jobs WHERE name = ? ORDER BY id", [.text(job.name)]) ?? []
        return (outcome, Jobs(rows: rows.map { $0.map(\.plain) }), view)
    }

    func testTheClusterRunsItsTenantsJobThoughARivalTenantSubmittedItsNameFirst() {
        // The first seed of 1-10 at which bob's submission is stored before the engineer's.
        guard let (seed, result) = (1 ... 10).lazy.map({ ($0, self.run(seed: UInt64($0))) }).first(where: { $0.1.jobs.bobFirst }) else {
            return XCTFail("bob's job was stored second at every seed of 1-10")
        }
        defer { result.view.close() }
        XCTAssertEqual(result.outcome, .passed, "seed \(seed)")
        XCTAssertEqual(result.jobs.rows.map { Array($0[1...]) }, [["t2", "bob", "queued"], ["t1", "ml-engineer", "completed"]], "seed \(seed)")
        let runs = result.view.rows("experiments_db", "SELECT DISTINCT tenant FROM runs ORDER BY tenant")?.map { $0.map(\.plain) }
        XCTAssertEqual(runs, [["t1"]], "seed \(seed): the cluster's run is t1's")
        let models = result.view.rows("models_db", "SELECT model FROM model_versions ORDER BY model, version")?.compactMap { $0.first?.plain } ?? []
        XCTAssertFalse(models.isEmpty, "seed \(seed): the cluster registered its model")
        XCTAssertTrue(models.allSatisfy { $0.hasPrefix("t1/") }, "seed \(seed): the cluster's model versions are t1's: \(models)")
    }
}
