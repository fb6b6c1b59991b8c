import XCTest
@testable import Chaos
@testable import SimKernel
@testable import SimServices

/// Scenario 02: without defects the same-seed runs agree with each other and with the loop run in
/// this test's own process; each defect is found by its checker; every seed file replays.
final class TrainingReproducibilityTests: XCTestCase {
    static let shipped = ShippedScenario("02_training_reproducibility")
    static var scenario: Scenario { shipped.scenario }

    func run(seed: UInt64, defects: DefectSet) -> (Outcome, Simulation) { Self.shipped.simulate(seed: seed, defects: defects) }

    var workload: TrainingRunsWorkload { Self.scenario.workloads.compactMap { $0 as? TrainingRunsWorkload }.first! }

    /// The state hash at every step of both seed-42 runs equals the one this process computes from
    /// the job, the dataset's rows and no simulation at all: reproducible across processes.
    func testSameSeedRunsMatchTheLoopComputedInThisProcess() {
        let (outcome, simulation) = run(seed: 1, defects: .empty)
        XCTAssertEqual(outcome, .passed, outcome.message)
        let runs = simulation.trainingRuns
        guard let submitted = runs.submittedRun(named: "run-a") else { return XCTFail("run-a was not submitted") }
        var spec = submitted.spec
        spec.run = 0
        let loop = ReproducibleTraining(spec: spec, rows: workload.datasetRows, entropy: { preconditionFailure("a seeded run draws no entropy") })
        var expected: [String] = []
        while let step = loop.nextStep() { expected.append(step.stateHash) }
        for name in ["run-a", "run-b"] {
            let seen = runs.steps.filter { $0.name == name && $0.attempt == 1 }.map(\.record.stateHash)
            XCTAssertEqual(seen, expected, name)
        }
        XCTAssertEqual(expected.count, 100)  // 819 training rows / 32 = 25 steps, four epochs
    }

    /// Without defects: the unversioned run refused, the overwrite refused, the injected filter
    /// refused, the comparison names a seed-42 run, every run read back in full.
    func testTheClientSeesEveryRefusalAndAFullReadBack() {
        let (outcome, simulation) = run(seed: 2, defects: .empty)
        XCTAssertEqual(outcome, .passed, outcome.message)
        let runs = simulation.trainingRuns
        XCTAssertEqual(runs.refused.map(\.status), [409, 409])  // the unversioned run; the baseline's name with another job
        XCTAssertEqual(runs.readBacks.map(\.overwriteStatus), [409, 409, 409])
        XCTAssertEqual(runs.searches.first { $0.filter.contains("OR") }?.status, 400)
        let best = runs.submitted.first { $0.run == runs.comparison?.best }
        XCTAssertEqual(best?.seed, 42)
        for back in runs.readBacks { XCTAssertEqual(back.points.count, 2 * 100 + 4, back.name) }  // loss and lr per step, val_auc per epoch
    }

    func testM5IsFoundByEpochOrder() {
        XCTAssertEqual(run(seed: 1, defects: DefectSet([.M5])).0.checker, "epoch-order")
    }

    func testE3IsFoundByReproducibility() {
        let outcome = run(seed: 1, defects: DefectSet([.E3])).0
        XCTAssertEqual(outcome.checker, "reproducibility")
        XCTAssertTrue(outcome.message.contains("after step 0"), outcome.message)
    }

    func testE5IsFoundByArtifactIntegrity() {
        let outcome = run(seed: 1, defects: DefectSet([.E5])).0
        XCTAssertEqual(outcome.checker, "artifact-integrity")
        XCTAssertTrue(outcome.message.contains("checkpoint.bin (upload abandoned after 2 of 4 parts) reads back 96 bytes"), outcome.message)
    }

    func testE7IsFoundByMetricAggregates() {
        let outcome = run(seed: 1, defects: DefectSet([.E7])).0
        XCTAssertEqual(outcome.checker, "metric-aggregates")
        XCTAssertTrue(outcome.message.contains("sum to 4800120000.0"), outcome.message)
    }

    /// Without defects the client's counter summary is exact, its committed artifact reads back
    /// whole and its abandoned one is not found.
    func testTheClientsBookkeepingAddsUpAndAnAbandonedArtifactIsNotFound() {
        let (outcome, simulation) = run(seed: 3, defects: .empty)
        XCTAssertEqual(outcome, .passed, outcome.message)
        let runs = simulation.trainingRuns
        XCTAssertEqual(runs.summaries.first?.sum, 4_800_120_000)
        XCTAssertEqual(runs.summaries.first?.count, 16)
        XCTAssertEqual(runs.artifactReads.map(\.status), [200, 404])
        XCTAssertEqual(runs.artifactReads.first?.sha256, runs.artifactReads.first?.declaredSHA256)
    }

    func testE8IsFoundByRunSearch() {
        let outcome = run(seed: 1, defects: DefectSet([.E8])).0
        XCTAssertEqual(outcome.checker, "run-search")
        XCTAssertTrue(outcome.message.contains("OR '1'='1'"), outcome.message)
    }

    /// Every shipped seed file of scenario 02 replays to its outcome, checker and fingerprint, and
    /// there is one per defect the scenario lists.
    func testEveryDefectHasASeedFileThatReplays() throws {
        let folder = Chaos05.packageRoot.appendingPathComponent("Seeds")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasPrefix("02_training_reproducibility-") }.sorted()
        XCTAssertEqual(Set(files.map { String($0.split(separator: "-")[1]) }), Set(Self.scenario.defects.map(\.rawValue)))
        for name in files {
            let seedFile = try SeedFile.load(path: folder.appendingPathComponent(name).path)
            let verdict = Replay.run(seedFile, scenario: Self.scenario)
            XCTAssertTrue(verdict.matches, "\(name): \(verdict.differences)")
        }
    }

    /// The checkers on planted observations.
    func testEpochOrderNamesARepeatedOrder() {
        let checker = EpochOrderChecker(scenario: Self.scenario)
        let simulation = Simulation(seed: 1)
        checker.observations = simulation.trainingRuns
        simulation.trainingRuns.orders = [.init(name: "r", attempt: 1, epoch: 0, order: [2, 0, 1], rows: 3)]
        XCTAssertNil(checker.check(simulation))
        simulation.trainingRuns.orders.append(.init(name: "r", attempt: 1, epoch: 1, order: [2, 0, 1], rows: 3))
        XCTAssertEqual(checker.check(simulation), "r (attempt 1) trains epoch 1 in the same order as epoch 0 (starting 2, 0, 1...): the data is not reshuffled")
    }

    func testEpochOrderNamesAnOrderThatIsNoPermutation() {
        let checker = EpochOrderChecker(scenario: Self.scenario)
        let simulation = Simulation(seed: 1)
        checker.observations = simulation.trainingRuns
        simulation.trainingRuns.orders = [.init(name: "r", attempt: 1, epoch: 0, order: [0, 0, 1], rows: 3)]
        XCTAssertEqual(checker.check(simulation), "r (attempt 1) epoch 0's order is not a permutation of its 3 training rows (3 entries)")
    }

    func testTheLRCheckersClosedFormMatchesTheSteppedSchedule() {
        var schedule = WarmRestartsSchedule(base: 0.3, etaMin: 0.003, t0: 5, tMult: 3)
        for step in 0 ..< 500 {
            XCTAssertEqual(schedule.rate, LRScheduleChecker.expectedRate(step: step, base: 0.3, etaMin: 0.003, t0: 5, tMult: 3), accuracy: 1e-15, "step \(step)")
            schedule.step()
        }
    }

    func testMetricSeriesAcceptsOnlyFixedWidthUTC() {
        XCTAssertTrue(MetricSeriesChecker.isUTC("2026-01-01T00:00:01.250Z"))
        XCTAssertFalse(MetricSeriesChecker.isUTC("2026-01-01T00:00:01.250+01:00"))
        XCTAssertFalse(MetricSeriesChecker.isUTC("2026-01-01 00:00:01.250Z"))
        XCTAssertFalse(MetricSeriesChecker.isUTC("1767225601250"))
    }

    func testRunLineageNamesADanglingParent() {
        let checker = RunLineageChecker(scenario: Self.scenario)
        let simulation = Simulation(seed: 1)
        checker.observations = simulation.trainingRuns
        simulation.trainingRuns.lineage = [(run: 2, parent: 0), (run: 3, parent: 1)]
        XCTAssertEqual(checker.check(simulation), "run 3 is a fork of run 1, which no longer exists (a dangling parent)")
    }

    /// The first run's model is registered with its run, and the registry answers the whole chain:
    /// that run, the dataset digest the client stored, the code version.
    func testTheRegisteredVersionAnswersItsRunDatasetAndCode() {
        let (outcome, simulation) = run(seed: 1, defects: .empty)
        XCTAssertEqual(outcome, .passed, outcome.message)
        guard let registered = simulation.trainingRuns.modelLineage else { return XCTFail("no version was registered") }
        XCTAssertEqual(registered.status, 200)
        XCTAssertEqual(registered.run, simulation.trainingRuns.submittedRun(named: "run-a")?.run)
        XCTAssertEqual(registered.answered["dataset"], simulation.trainingRuns.submittedRun(named: "run-a")?.dataset)
        XCTAssertEqual(registered.answered["run"], "\(registered.run)")
        XCTAssertEqual(registered.answered["code"], workload.code)
    }

    /// The checker on planted observations: a lineage naming another dataset is named.
    func testModelLineageNamesAnotherDataset() {
        let checker = ModelLineageChecker(scenario: Self.scenario)
        let simulation = Simulation(seed: 1)
        checker.observations = simulation.trainingRuns
        simulation.trainingRuns.modelLineage = (run: 3, dataset: "sha256-a", code: "trainer-v1", version: 1, status: 200,
                                                answered: ["run": "3", "dataset": "sha256-b", "code": "trainer-v1"])
        XCTAssertEqual(checker.check(simulation), "ctr-model v1 was registered from run 3, but its lineage answers dataset 'sha256-b' where 'sha256-a' was trained on")
    }

    /// The checker on planted observations: a version registered from a run whose lineage then
    /// answers 404 is named; one whose read was unavailable (503) is not judged.
    func testModelLineageNamesAMissingLineageButNotAnUnavailableRead() {
        let simulation = Simulation(seed: 1)
        let missing = ModelLineageChecker(scenario: Self.scenario)
        missing.observations = simulation.trainingRuns
        simulation.trainingRuns.modelLineage = (run: 3, dataset: "sha256-a", code: "trainer-v1", version: 1, status: 404, answered: [:])
        XCTAssertEqual(missing.check(simulation), "ctr-model v1 was registered from run 3, but registry/lineage answers 404 (no lineage)")
        let unavailable = ModelLineageChecker(scenario: Self.scenario)
        unavailable.observations = simulation.trainingRuns
        simulation.trainingRuns.modelLineage = (run: 3, dataset: "sha256-a", code: "trainer-v1", version: 1, status: 503, answered: [:])
        XCTAssertNil(unavailable.check(simulation))
    }
}
