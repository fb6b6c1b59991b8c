import Foundation
import XCTest
@testable import Chaos
@testable import SimKernel
@testable import SimServices

/// Recovery paths under explicit faults: each test names its fault and checks what must follow.
final class RecoveryTests: XCTestCase {
    /// Runs scenario 05 without defects and with exactly the given faults, keeping the simulation
    /// so the test can read the platform's observations.
    private func run(seed: UInt64 = 5, crashes: [CrashFault] = [], partitions: [PartitionFault] = [],
                     tornWrites: Bool = false) -> (Outcome, Simulation) {
        var scenario = Chaos05.scenario
        scenario.explicitCrashes = crashes
        scenario.explicitPartitions = partitions
        var faults = scenario.faultOptions(seed: seed, profile: FaultProfile.none)
        if tornWrites { faults.disk.tornWriteProbability = .one }
        let configuration = RunConfiguration(scenario: scenario, seed: seed, defects: .empty, faults: faults)
        let simulation = Simulation(seed: seed, options: ScenarioRunner.options(for: scenario))
        ScenarioRunner.build(simulation, configuration)
        return (simulation.run(), simulation)
    }

    /// Builds scenario 05 without defects or random faults, with one explicit crash, and returns
    /// the simulation before it runs.
    private func simulationWithCrash(_ crash: CrashFault, seed: UInt64 = 5) -> Simulation {
        var scenario = Chaos05.scenario
        scenario.explicitCrashes = [crash]
        let faults = scenario.faultOptions(seed: seed, profile: FaultProfile.none)
        let simulation = Simulation(seed: seed, options: ScenarioRunner.options(for: scenario))
        ScenarioRunner.build(simulation, RunConfiguration(scenario: scenario, seed: seed, defects: .empty, faults: faults))
        return simulation
    }

    private func step(of path: String) -> Int { Int(path.split(separator: "-").last!)! }

    func testParameterServerCrashedMidStepRecoversFromTheNewestValidCheckpoint() {
        // ps-0 dies at 19 s, mid-step (two checkpoints exist by then: the job starts after the
        // platform's start-up), and comes back 1 s later.
        let simulation = simulationWithCrash(CrashFault(node: "ps-0", atMs: 19_000, restartAfterMs: 1000))
        var newestAtCrash: String?
        simulation.schedule(at: 19_000 * Nanos.millisecond) { newestAtCrash = simulation.training.checkpointCommits.last }
        XCTAssertEqual(simulation.run(), .passed)
        let shard = simulation.training.shards[0]
        guard let newest = newestAtCrash else { return XCTFail("no checkpoint before the crash") }
        XCTAssertGreaterThanOrEqual(step(of: newest), 20)
        XCTAssertEqual(shard.restoredFromStep, step(of: newest))
        XCTAssertEqual(shard.epoch, 1)
        XCTAssertTrue(simulation.training.jobCompleted)
        XCTAssertGreaterThanOrEqual(simulation.training.finalAccuracy ?? 0, 0.8)
    }

    func testRestoreSkipsACorruptCheckpointForTheNextNewest() {
        // Corrupt the newest checkpoint in the object store (as bit rot would) just before ps-1
        // crashes: on restart the store's checksum refuses that object and the shard restores the
        // one before.
        let simulation = simulationWithCrash(CrashFault(node: "ps-1", atMs: 19_000, restartAfterMs: 500))
        var expected: Int?
        simulation.schedule(at: 18_900 * Nanos.millisecond) {
            let store = simulation.node(named: "minio")!
            let committed = store.disk.list(prefix: "buckets/checkpoints/o/checkpoints/").filter { !$0.hasSuffix(".tmp") }
            guard committed.count >= 2 else { return }
            var bytes = try! store.disk.readAll(committed.last!)
            bytes[20] ^= 0xFF
            try! store.disk.writeAll(committed.last!, bytes)
            try! store.disk.fsync(committed.last!)
            expected = self.step(of: committed[committed.count - 2])
        }
        _ = simulation.run()  // the integrity checker sees the rot only on later commits
        XCTAssertNotNil(expected, "two checkpoints existed before the crash")
        XCTAssertEqual(simulation.training.shards[1].restoredFromStep, expected, "the corrupt newest checkpoint must be skipped")
    }

    func testWorkerCrashResumesFromItsDurableClock() {
        // worker-1 dies mid-training (the job starts after the platform's start-up, ~6-7 s) and
        // comes back 2 s later: it must resume from the clock it had made durable, not from 0.
        var scenario = Chaos05.scenario
        scenario.explicitCrashes = [CrashFault(node: "worker-1", atMs: 12_000, restartAfterMs: 2000)]
        let configuration = RunConfiguration(scenario: scenario, seed: 5, defects: .empty, faults: scenario.faultOptions(seed: 5, profile: FaultProfile.none))
        let simulation = Simulation(seed: 5, options: ScenarioRunner.options(for: configuration))
        let recorder = RecordingTraceSink()
        simulation.trace.add(sink: recorder)
        var clockAtCrash = -1
        simulation.schedule(at: 12_000 * Nanos.millisecond) { clockAtCrash = simulation.training.workerClocks[1] }
        ScenarioRunner.build(simulation, configuration)
        XCTAssertEqual(simulation.run(), .passed)
        XCTAssertEqual(simulation.training.workerClocks, [40, 40, 40])
        XCTAssertEqual(simulation.node(named: "worker-1")?.crashCount, 1)
        let resume = recorder.records.first { $0.kind == TraceKind.workerResume.name && $0.node == "worker-1" }
        XCTAssertGreaterThan(clockAtCrash, 0, "the worker had made progress before the crash")
        XCTAssertEqual(resume?.payload, UInt64(clockAtCrash), "it resumed at the clock it had when it died: \(String(describing: resume?.detail))")
    }

    func testPartitionThatHealsLetsTrainingConverge() {
        // Cut the workers off from both parameter servers for 10 s in the middle of training.
        let partition = PartitionFault(sideA: ["worker-0", "worker-1", "worker-2"], sideB: ["ps-0", "ps-1"], atMs: 3000, durationMs: 10_000)
        let (outcome, simulation) = run(partitions: [partition])
        XCTAssertEqual(outcome, .passed)
        XCTAssertGreaterThanOrEqual(simulation.training.finalAccuracy ?? 0, 0.8)
        XCTAssertGreaterThan(simulation.training.jobCompletedAt ?? 0, 13 * Nanos.second, "nothing can finish while cut off")
    }

    func testStorageCrashDuringSavesNeverPublishesAPartialCheckpoint() {
        // Storage dies right after its 3rd staging write of the first checkpoint save, with torn
        // writes on: chunks it acknowledged are lost. The commit must notice (the assembled bytes
        // fail the writer's CRC, or the staging file is gone), the writer must save again, and
        // nothing partial may ever be published.
        var detected = 0
        for seed in UInt64(1) ... 6 {
            var scenario = Chaos05.scenario
            scenario.explicitCrashes = []
            var faults = scenario.faultOptions(seed: seed, profile: FaultProfile.none)
            faults.disk.tornWriteProbability = .one
            let configuration = RunConfiguration(scenario: scenario, seed: seed, defects: .empty, faults: faults)
            let simulation = Simulation(seed: seed, options: ScenarioRunner.options(for: configuration))
            let recorder = RecordingTraceSink()
            simulation.trace.add(sink: recorder)
            let built = ScenarioRunner.build(simulation, configuration)
            let storage = built.platform.node("storage")!
            // The 3rd write that grows the staging files (the node's other disk operations, its
            // identity marks among them, do not count).
            var stagingWrites = 0, stagingBytes = 0
            storage.disk.afterOperation = { _ in
                let bytes = storage.disk.list(prefix: "staging/").reduce(0) { $0 + ((try? storage.disk.size($1)) ?? 0) }
                let grew = bytes > stagingBytes
                stagingBytes = bytes
                guard grew else { return }
                stagingWrites += 1
                guard stagingWrites == 3 else { return }
                storage.disk.afterOperation = nil
                storage.crash()
                simulation.schedule(after: 300 * Nanos.millisecond) { storage.restart() }
            }
            XCTAssertEqual(simulation.run(), .passed, "seed \(seed): every published checkpoint verifies and the job converges")
            XCTAssertEqual(storage.crashCount, 1, "seed \(seed): storage crashed mid-save")
            XCTAssertTrue(simulation.training.jobCompleted, "seed \(seed)")
            XCTAssertGreaterThan(simulation.training.checkpointCommits.count, 0, "seed \(seed): checkpoints were published after the crash")
            detected += recorder.records.filter { $0.kind == TraceKind.workerSaveRetry.name || $0.kind == TraceKind.storageRejected.name }.count
        }
        XCTAssertGreaterThan(detected, 0, "the lost chunks were noticed (a rejected commit or a writer's retry) in at least one seed")
    }

    func testMixedPrecisionBacksOffFromTheInitialScale() {
        // With scale 2^16 a micro-batch sum of 8 gradient terms overflows Float16 (max 65504): the
        // first steps are skipped and the scale backs off; training still converges.
        let (outcome, simulation) = run()
        XCTAssertEqual(outcome, .passed)
        XCTAssertGreaterThan(simulation.training.skippedSteps.reduce(0, +), 0)
        XCTAssertTrue(simulation.training.lossScales.allSatisfy { $0 < 65536 }, "\(simulation.training.lossScales)")
        XCTAssertEqual(simulation.training.nonFiniteParameters, 0)
    }

    func testSSPBoundHoldsForEveryServedPull() {
        let (outcome, simulation) = run()
        XCTAssertEqual(outcome, .passed)
        let pulls = simulation.training.shards.flatMap(\.servedPulls)
        XCTAssertGreaterThan(pulls.count, 200)
        XCTAssertTrue(pulls.allSatisfy { $0.clock - $0.slowest <= 2 })
        // The slow worker (250 %) makes the bound bite: some pulls are served exactly at the bound.
        XCTAssertTrue(pulls.contains { $0.clock - $0.slowest == 2 })
    }

    func testBSPAndASPModesAlsoConverge() {
        for mode in [SyncMode.bsp, .asp] {
            var scenario = Chaos05.scenario
            scenario.platform.job.syncMode = mode
            let configuration = RunConfiguration(scenario: scenario, seed: 9, defects: .empty, faults: scenario.faultOptions(seed: 9, profile: .lite))
            let result = ScenarioRunner.run(configuration)
            XCTAssertEqual(result.outcome, .passed, "\(mode): \(result.outcome)")
            XCTAssertGreaterThanOrEqual(result.finalAccuracy ?? 0, 0.8, "\(mode)")
        }
    }

    func testASPHasStalerUpdatesThanBSP() {
        func staleUpdates(_ mode: SyncMode) -> Int {
            var scenario = Chaos05.scenario
            scenario.platform.job.syncMode = mode
            let result = ScenarioRunner.run(RunConfiguration(scenario: scenario, seed: 2, defects: .empty, faults: scenario.faultOptions(seed: 2, profile: FaultProfile.none)))
            return result.stalenessHistogram.filter { $0.key >= 4 }.values.reduce(0, +)
        }
        XCTAssertGreaterThan(staleUpdates(.asp), staleUpdates(.bsp))
    }
}

/// Regressions found by exploration, each a seed that once failed with no defect on.
final class ExplorationRegressionTests: XCTestCase {
    /// Found as swarm seed 1630: the experiments database crashed just as the training service
    /// completed the job (every trainer done and answered); completion gave up on the failed
    /// write and nothing ever retried it, so the job never completed. Here the crash is placed
    /// exactly there: experiments-db dies when the training service sends the run's metrics, for
    /// 2 s. Completion must retry until it gets through.
    func testTheJobCompletesWhenItsDatabaseCrashesDuringCompletion() {
        var simulation: Simulation!
        let trigger = OnFirstSend(node: "training", containing: "POST /experiments/runs") {
            let database = simulation.node(named: "experiments-db")!
            simulation.schedule(after: 0) { database.crash() }
            simulation.schedule(after: 2 * Nanos.second) { database.restart() }
        }
        simulation = Chaos05.faultFreeSimulation(seed: 1630, sink: trigger)
        XCTAssertEqual(simulation.run(), .passed)
        XCTAssertTrue(trigger.fired, "the crash was injected during completion")
        XCTAssertEqual(simulation.node(named: "experiments-db")?.crashCount, 1)
        XCTAssertTrue(simulation.training.jobCompleted, "completion retried until it got through")
        XCTAssertEqual(simulation.training.registeredVersion, "1")
    }
}

/// Found as swarm seed 1477: the job's completion committed, but the database's answer was lost;
/// the retried attempt found the job completed and returned without publishing the result, so the
/// job never counted as completed. The answer is lost here on purpose: a one-way cut from
/// experiments-db to training, just as training asks to mark the job completed.
final class LostCompletionAnswerTests: XCTestCase {
    func testACompletionWhoseAnswerWasLostStillCompletesTheJob() {
        var simulation: Simulation!
        let trigger = OnFirstSend(node: "training", containing: "UPDATE training_jobs SET state = 'comple") {
            simulation.network.partitionOneWay(from: simulation.node(named: "experiments-db")!.id, to: simulation.node(named: "training")!.id)
            simulation.schedule(after: 2 * Nanos.second) { simulation.network.healPartitions() }
        }
        simulation = Chaos05.faultFreeSimulation(seed: 5, sink: trigger)
        XCTAssertEqual(simulation.run(), .passed)
        XCTAssertTrue(trigger.fired, "the answer was cut")
        XCTAssertTrue(simulation.training.jobCompleted)
        XCTAssertEqual(simulation.training.registeredVersion, "1")
    }
}

/// BUGGIFY fault points in service and infrastructure code (Kafka partial fetches, slow object
/// PUTs, late lock waits, straggler steps): the correct platform rides them out.
final class BuggifyTests: XCTestCase {
    func testTheCorrectPlatformPassesWithBuggifyOnAndItsSitesFire() {
        var fired: Set<String> = []
        for seed in UInt64(1) ... 6 {
            var configuration = RunConfiguration(scenario: Chaos05.scenario, seed: seed, defects: .empty)
            configuration.buggify = true
            let simulation = Simulation(seed: seed, options: ScenarioRunner.options(for: configuration))
            let built = ScenarioRunner.build(simulation, configuration)
            let outcome = simulation.run()
            XCTAssertEqual(outcome, .passed, "seed \(seed): \(outcome)")
            XCTAssertTrue(built.checkers.allSatisfy { $0.converged(simulation) != false }, "seed \(seed) converged")
            fired.formUnion(simulation.buggifier.firedSites.map { String($0.split(separator: ":").first ?? "") })
        }
        XCTAssertGreaterThanOrEqual(fired.count, 2, "sites in several files fired over 6 seeds: \(fired.sorted())")
    }
}
