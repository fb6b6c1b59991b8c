import Foundation
import XCTest
@testable import Chaos
@testable import SimKernel
@testable import SimServices

/// Scenario 07: without defects the elastic job lives through its joins, leave and restarts and
/// completes; each defect is found by the checker its catalogue entry names; every seed file
/// replays; the checkers judge planted observations as their doc comments say.
final class ElasticTrainingTests: XCTestCase {
    static let shipped = ShippedScenario("07_elastic_training")
    static var scenario: Scenario { shipped.scenario }

    func run(seed: UInt64, defects: DefectSet) -> (Outcome, Simulation) { Self.shipped.simulate(seed: seed, defects: defects) }

    /// The scripted history happens: four workers rank in one generation after the late join, the
    /// leaver leaves, every restart after the first checkpoint resumes from one, and the job ends
    /// at step 40 within the compression checker's bound of the reference.
    func testWithoutDefectsTheJobRidesOutItsMembershipChangesAndCompletes() {
        let (outcome, simulation) = run(seed: 1, defects: .empty)
        XCTAssertEqual(outcome, .passed, outcome.message)
        let observations = simulation.elasticTraining
        XCTAssertTrue(observations.claims.contains { $0.world == 4 && !$0.fromJoin }, "no generation of four workers")
        XCTAssertTrue(observations.claims.contains { $0.world == 3 && $0.worker == "elastic-3" && !$0.fromJoin }, "no generation after the leave")
        XCTAssertFalse(observations.claims.contains { $0.worker == "elastic-1" && $0.at > (observations.completedAt ?? 0) })
        XCTAssertTrue(observations.resumes.contains { $0.step > 0 }, "no restart resumed from a checkpoint")
        XCTAssertEqual(observations.finalStep, 40)
        let reference = CompressionAccuracyChecker.referenceAccuracy(Self.scenario.elasticJob!, world: 3)
        XCTAssertGreaterThanOrEqual(observations.finalAccuracy ?? 0, reference - CompressionAccuracyChecker.margin)
        XCTAssertTrue(observations.manifests.allSatisfy(\.complete))
    }

    /// The reference trains: well above chance on the synthetic data (about 0.85, the noise's ceiling).
    func testTheUncompressedReferenceLearns() {
        let accuracy = CompressionAccuracyChecker.referenceAccuracy(Self.scenario.elasticJob!, world: 3)
        XCTAssertGreaterThan(accuracy, 0.8)
        XCTAssertEqual(accuracy, CompressionAccuracyChecker.referenceAccuracy(Self.scenario.elasticJob!, world: 3))
    }

    func testA3IsFoundByDataShards() { XCTAssertEqual(run(seed: 1, defects: DefectSet([.A3])).0.checker, "data-shards") }

    func testA4IsFoundByTensorSplitNamingTheLostElement() {
        let outcome = run(seed: 1, defects: DefectSet([.A4])).0
        XCTAssertEqual(outcome.checker, "tensor-split")
        XCTAssertTrue(outcome.message.contains("is 0.0"), outcome.message)
    }

    func testA7IsFoundByCompressionAccuracy() { XCTAssertEqual(run(seed: 1, defects: DefectSet([.A7])).0.checker, "compression-accuracy") }
    func testA8IsFoundByAllReduce() { XCTAssertEqual(run(seed: 1, defects: DefectSet([.A8])).0.checker, "all-reduce") }
    func testA10IsFoundByResumeStep() { XCTAssertEqual(run(seed: 1, defects: DefectSet([.A10])).0.checker, "resume-step") }

    /// Every shipped seed file of scenario 07 replays to its outcome, checker and fingerprint (A5
    /// and A6 among them: races that show on some seeds only), and there is one per defect.
    func testEveryDefectHasASeedFileThatReplays() throws {
        let folder = Chaos05.packageRoot.appendingPathComponent("Seeds")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasPrefix("07_elastic_training-") }.sorted()
        XCTAssertEqual(Set(files.map { String($0.split(separator: "-")[1]) }), Set(Self.scenario.defects.map(\.rawValue)))
        for name in files {
            let seedFile = try SeedFile.load(path: folder.appendingPathComponent(name).path)
            let verdict = Replay.run(seedFile, scenario: Self.scenario)
            XCTAssertTrue(verdict.matches, "\(name): \(verdict.differences)")
            XCTAssertEqual(verdict.result.outcome.checker, DefectCatalogue.entry(seedFile.defects[0]).checker, name)
        }
    }

    func testANamedWorkerThatIsNoElasticWorkerIsRefusedWithItsLine() throws {
        let text = Self.scenario.text.replacingOccurrences(of: "leaver: elastic-1", with: "leaver: elastic-9")
        XCTAssertThrowsError(try ScenarioLoader.parse(text, file: "07.yaml")) { error in
            let message = "\(error)"
            XCTAssertTrue(message.hasPrefix("07.yaml:"), message)
            XCTAssertTrue(message.contains("leaver 'elastic-9' is not an elastic_worker node"), message)
        }
    }

    // The checkers on planted observations.

    func planted<C: ElasticChecker & SafetyChecker>(_ type: C.Type) -> (C, Simulation) {
        let checker = C(scenario: Self.scenario)
        let simulation = Simulation(seed: 1)
        checker.observations = simulation.elasticTraining
        return (checker, simulation)
    }

    func testRingRanksNamesTwoHoldersOfOneRank() {
        let (checker, simulation) = planted(RingRanksChecker.self)
        simulation.elasticTraining.claims = [.init(at: 0, worker: "elastic-0", generation: 1, rank: 0, world: 1, fromJoin: true)]
        simulation.elasticTraining.revision += 1
        XCTAssertNil(checker.check(simulation))
        simulation.elasticTraining.claims.append(.init(at: 1, worker: "elastic-1", generation: 1, rank: 0, world: 1, fromJoin: true))
        simulation.elasticTraining.revision += 1
        XCTAssertEqual(checker.check(simulation), "two workers hold rank 0 of generation 1: elastic-0 and elastic-1 (from its join)")
    }

    func testAllReduceToleratesRoundingButNotAWrongDivisor() {
        let (checker, simulation) = planted(AllReduceChecker.self)
        let observations = simulation.elasticTraining
        observations.reductions = [
            .init(worker: "a", generation: 2, step: 0, rank: 0, world: 2, contribution: [1, 0.3], reduced: [0.5, 0.15000001]),
            .init(worker: "b", generation: 2, step: 0, rank: 1, world: 2, contribution: [0, 0], reduced: nil),
        ]
        observations.revision += 1
        XCTAssertNil(checker.check(simulation))
        observations.reductions[1].reduced = [1.0 / 3, 0.1]  // divided by 3: the first generation's size
        observations.revision += 1
        XCTAssertEqual(checker.check(simulation), "b (rank 1 of 2, generation 2) applied 0.33333334 for coordinate 0 at step 0; the mean of the 2 live ranks' contributions is 0.5")
    }

    func testResumeStepAllowsAManifestInFlightButNotAnOlderOne() {
        let (checker, simulation) = planted(ResumeStepChecker.self)
        let observations = simulation.elasticTraining
        func manifest(_ step: Int, sent: Int64, committed: Int64?) -> ElasticTrainingObservations.Manifest {
            .init(sentAt: sent, committedAt: committed, key: "m-\(step)", step: step, generation: 1, world: 2, shardSteps: [step, step])
        }
        func resume(_ worker: String, generation: Int, step: Int, decided: Bool) -> ElasticTrainingObservations.Resume {
            .init(worker: worker, generation: generation, listedAt: 100, answeredAt: 110, decided: decided, step: step, checkpointGeneration: 1, parameters: [])
        }
        observations.manifests = [manifest(5, sent: 10, committed: 20), manifest(10, sent: 105, committed: 112)]
        observations.resumes = [resume("a", generation: 2, step: 10, decided: true), resume("b", generation: 2, step: 10, decided: false)]
        observations.revision += 1
        XCTAssertNil(checker.check(simulation))  // step 10 was in flight during the listing: seen or not, both fine
        observations.resumes.append(resume("c", generation: 3, step: 0, decided: true))
        observations.revision += 1
        XCTAssertEqual(checker.check(simulation), "c resumed generation 3 at step 0; the newest valid checkpoint was step 5")
    }

    func testResumeStepNamesMembersOfOneGenerationAtDifferentSteps() {
        let (checker, simulation) = planted(ResumeStepChecker.self)
        let observations = simulation.elasticTraining
        observations.resumes = [
            .init(worker: "a", generation: 4, listedAt: 0, answeredAt: 1, decided: true, step: 0, checkpointGeneration: nil, parameters: []),
            .init(worker: "b", generation: 4, listedAt: 2, answeredAt: 3, decided: false, step: 5, checkpointGeneration: 3, parameters: []),
        ]
        observations.revision += 1
        XCTAssertEqual(checker.check(simulation), "b resumed generation 4 at step 5, a at step 0")
    }

    func testDataShardsNamesARowOfTwoWorkersInOneEpochButNotAcrossGenerations() {
        let (checker, simulation) = planted(DataShardsChecker.self)
        let observations = simulation.elasticTraining
        observations.batches = [.init(worker: "a", generation: 1, step: 0, epoch: 0, rows: [1, 2]), .init(worker: "b", generation: 2, step: 0, epoch: 0, rows: [2, 3])]
        observations.revision += 1
        XCTAssertNil(checker.check(simulation))  // generation 2 re-trains row 2 after a restart: fine
        observations.batches.append(.init(worker: "c", generation: 2, step: 1, epoch: 0, rows: [3]))
        observations.revision += 1
        XCTAssertEqual(checker.check(simulation), "row 3 sampled by b and c in epoch 0 of generation 2 (step 1): the ranks' shards overlap")
    }

    /// Two ranks whose copies diverged (another defect): a correct split gives rank 0 the
    /// weights 0-3 and the bias, rank 1 the weights 4-7, so the merge takes those from each; only
    /// a load that differs from that merge (the bias lost, as A4 loses it) is the split's fault.
    func testTensorSplitJudgesTheMergeOfTheRanksCopiesNotRankZerosAlone() {
        let (checker, simulation) = planted(TensorSplitChecker.self)
        let observations = simulation.elasticTraining
        let copy0: [Float] = (0 ..< 9).map(Float.init), copy1: [Float] = (10 ..< 19).map(Float.init)
        observations.checkpointed = ["3/10/0": copy0, "3/10/1": copy1]
        observations.manifests = [.init(sentAt: 0, committedAt: 1, key: "job/manifest-10-g3", step: 10, generation: 3, world: 2, shardSteps: [10, 10])]
        let merged: [Float] = [0, 1, 2, 3, 14, 15, 16, 17, 8]
        observations.resumes = [.init(worker: "a", generation: 4, listedAt: 0, answeredAt: 1, decided: true, step: 10, checkpointGeneration: 3, parameters: merged)]
        observations.revision += 1
        XCTAssertNil(checker.check(simulation))
        var lost = merged
        lost[8] = 0
        observations.resumes.append(.init(worker: "b", generation: 4, listedAt: 0, answeredAt: 1, decided: false, step: 10, checkpointGeneration: 3, parameters: lost))
        observations.revision += 1
        XCTAssertEqual(checker.check(simulation), "b resumed generation 4 from the step-10 checkpoint with 1 parameter(s) unlike the ones saved: element 8 is 0.0, saved 8.0 (split-then-merge lost it)")
    }

    func testCheckpointBarrierNamesAManifestOfMixedSteps() {
        let (checker, simulation) = planted(CheckpointBarrierChecker.self)
        simulation.elasticTraining.manifests = [.init(sentAt: 0, committedAt: 1, key: "job/manifest-10-g2", step: 10, generation: 2, world: 3, shardSteps: [10, 5, 10])]
        simulation.elasticTraining.revision += 1
        XCTAssertEqual(checker.check(simulation), "manifest job/manifest-10-g2 (generation 2, world 3) names shards of steps 10, 5, 10: workers were not at step 10 together")
    }
}
