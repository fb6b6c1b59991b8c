import Foundation
import XCTest
@testable import Chaos
@testable import SimKernel
@testable import SimServices

/// Model serving under explicit faults (scenarios 01 and 04 without defects): each test names its
/// fault and checks what must follow, besides every check of the scenario passing.
final class ServingChaosTests: XCTestCase {
    /// Runs `shipped` without defects or random faults, with exactly the given faults (and any
    /// change `adjust` makes to the scenario or the fault options), keeping the simulation.
    private func run(_ shipped: ShippedScenario, seed: UInt64 = 3, crashes: [CrashFault] = [], partitions: [PartitionFault] = [], profile: FaultProfile? = FaultProfile.none,
                     defects: [DefectID] = [], adjust: (inout Scenario, inout FaultOptions) -> Void = { _, _ in }) -> (Outcome, Simulation) {
        var scenario = shipped.scenario
        scenario.explicitCrashes = crashes
        scenario.explicitPartitions = partitions
        var faults = scenario.faultOptions(seed: seed, profile: profile)
        adjust(&scenario, &faults)
        let configuration = RunConfiguration(scenario: scenario, seed: seed, defects: DefectSet(defects), faults: faults)
        let simulation = Simulation(seed: seed, options: ScenarioRunner.options(for: configuration))
        ScenarioRunner.build(simulation, configuration)
        return (simulation.run(), simulation)
    }

    private var workload01: ModelDeploymentsWorkload { Serving01.scenario.workloads.compactMap { $0 as? ModelDeploymentsWorkload }.first! }

    /// Every answered prediction is its version's weights applied to its input.
    private func assertAnswersMatchTheirWeights(_ simulation: Simulation, file: StaticString = #filePath, line: UInt = #line) {
        for answer in simulation.serving.answers where answer.status == 200 {
            guard let version = answer.servedVersion, let inputs = answer.inputs, let p = answer.p else { continue }
            XCTAssertEqual(p, LogisticModel.sigmoid(LogisticModel.score(workload01.artifact(version: version).weights, inputs)), file: file, line: line)
        }
    }

    /// The last Production version the registry committed for the workload's model.
    private func production(_ simulation: Simulation) -> Int64? { simulation.serving.promotions.last?.version }

    // MARK: replica crashes

    func testAReplicaCrashedDuringDeploysComesBackWithTheCurrentProductionVersion() {
        let (outcome, simulation) = run(Serving01, crashes: [CrashFault(node: "inference-b", atMs: 9000, restartAfterMs: 700)])
        XCTAssertEqual(outcome, .passed)
        XCTAssertEqual(simulation.node(named: "inference-b")?.crashCount, 1)
        XCTAssertEqual(simulation.serving.pointers["inference-b"]?["t1/fraud-detector"], production(simulation), "the restarted replica follows the registry")
        XCTAssertEqual(simulation.serving.cacheTraces["inference-b"]?.filter { $0 == .restart }.count, 2, "its cache started over once")
        assertAnswersMatchTheirWeights(simulation)
    }

    func testEveryReplicaCrashedInTurnStillServesOnlyItsVersionsWeights() {
        let crashes = ["inference", "inference-b", "inference-c"].enumerated().map { CrashFault(node: $0.element, atMs: 7000 + Int64($0.offset) * 3000, restartAfterMs: 800) }
        let (outcome, simulation) = run(Serving01, crashes: crashes)
        XCTAssertEqual(outcome, .passed)
        XCTAssertFalse(simulation.serving.answers.contains { $0.isInternalError })
        assertAnswersMatchTheirWeights(simulation)
    }

    func testAReplicaCrashedMidBatchNeverLeavesALiveBatchUnanswered() {
        let (outcome, simulation) = run(AB04, crashes: [CrashFault(node: "inference", atMs: 12_000, restartAfterMs: 500)])
        XCTAssertEqual(outcome, .passed, "batch-answers: the crashed process's batches died with it; the others were answered")
        XCTAssertGreaterThan(simulation.serving.batchSizes.values.reduce(0, +), 0)
    }

    func testACrashedReplicaWarmsItsVersionsBeforeTakingTrafficAgain() {
        let (outcome, simulation) = run(AB04, crashes: [CrashFault(node: "inference-b", atMs: 15_000, restartAfterMs: 500)])
        XCTAssertEqual(outcome, .passed, "latency: no cold prediction after the restart")
        XCTAssertLessThanOrEqual(simulation.serving.computed.map(\.millis).max() ?? 0, 62)
    }

    // MARK: partitions

    func testAPartitionBetweenGatewayAndAReplicaOpensItsBreakerAndOthersServe() {
        let cut = PartitionFault(sideA: ["gateway"], sideB: ["inference-b"], atMs: 8000, durationMs: 6000)
        let (outcome, simulation) = run(Serving01, partitions: [cut])
        XCTAssertEqual(outcome, .passed)
        XCTAssertGreaterThanOrEqual(simulation.platformObservations.breakersOpened, 1, "inference-b's failures open its breaker")
        let during = simulation.serving.answers.filter { $0.sentAt > 9500 * Nanos.millisecond && $0.sentAt < 13_000 * Nanos.millisecond }
        XCTAssertFalse(during.filter { $0.status == 200 }.isEmpty, "the other replicas answer during the cut")
        XCTAssertFalse(during.contains { $0.status == 200 && $0.replica == "inference-b" }, "nothing reaches inference-b through the cut")
    }

    func testACrashedReplicaGetsNoRequestOnceConsulHeldItCriticalForTheHealthView() {
        let (outcome, simulation) = run(Serving01, crashes: [CrashFault(node: "inference-b", atMs: 9000, restartAfterMs: 5000)])
        XCTAssertEqual(outcome, .passed, "routing: no route to an instance critical for longer than the gateway's view")
        let observations = simulation.platformObservations
        // The crashed replica's TTL check went critical while it was down.
        let critical = observations.consulHealth.compactMap { id, history in
            history.first { $0.critical && $0.at > 9000 * Nanos.millisecond && $0.at < 14_000 * Nanos.millisecond }.map { (id, $0.at) }
        }
        XCTAssertEqual(critical.count, 1, "\(critical)")
        guard let (instance, since) = critical.first else { return }
        let routed = observations.routings.filter { $0.instance == instance }
        XCTAssertFalse(routed.contains { $0.time >= since + GatewayService.healthViewNanos && $0.time < 14_000 * Nanos.millisecond },
                       "routed to \(instance) after it was critical at \(formatNanoseconds(since))")
        XCTAssertTrue(routed.contains { $0.time < 9000 * Nanos.millisecond }, "it took traffic before the crash")
        XCTAssertEqual(observations.consulHealth[instance]?.last?.critical, false, "and passed again once it was back")
    }

    func testAllReplicasCutFromTheGatewayGiveTimeoutsNotInternalErrors() {
        let cut = PartitionFault(sideA: ["gateway"], sideB: ["inference", "inference-b", "inference-c"], atMs: 9000, durationMs: 3000)
        let (outcome, simulation) = run(Serving01, partitions: [cut])
        XCTAssertEqual(outcome, .passed)
        let during = simulation.serving.answers.filter { $0.sentAt > 9000 * Nanos.millisecond && $0.sentAt < 11_500 * Nanos.millisecond }
        XCTAssertFalse(during.isEmpty)
        XCTAssertTrue(during.allSatisfy { [503, 504].contains($0.status) }, "\(Set(during.map(\.status)))")
    }

    func testAReplicaCutFromKafkaCatchesUpOnTheDeploymentsItMissed() {
        let cut = PartitionFault(sideA: ["kafka"], sideB: ["inference-c"], atMs: 7000, durationMs: 8000)
        let (outcome, simulation) = run(Serving01, partitions: [cut])
        XCTAssertEqual(outcome, .passed)
        XCTAssertEqual(simulation.serving.pointers["inference-c"]?["t1/fraud-detector"], production(simulation))
    }

    func testRegistryCutFromKafkaRetriesUntilEveryPromotionIsPublished() {
        let cut = PartitionFault(sideA: ["registry"], sideB: ["kafka"], atMs: 8000, durationMs: 3000)
        let (outcome, simulation) = run(Serving01, partitions: [cut])
        XCTAssertEqual(outcome, .passed)
        for replica in ["inference", "inference-b", "inference-c"] {
            XCTAssertEqual(simulation.serving.pointers[replica]?["t1/fraud-detector"], production(simulation), replica)
        }
    }

    // MARK: infrastructure crashes

    func testARedisCrashLeavesPredictionsUncachedButCorrect() {
        let (outcome, simulation) = run(Serving01, crashes: [CrashFault(node: "redis", atMs: 8000, restartAfterMs: 2000)])
        XCTAssertEqual(outcome, .passed)
        let during = simulation.serving.answers.filter { $0.sentAt > 8200 * Nanos.millisecond && $0.sentAt < 9800 * Nanos.millisecond }
        XCTAssertFalse(during.filter { $0.status == 200 }.isEmpty, "a miss in an unreachable cache is computed")
        assertAnswersMatchTheirWeights(simulation)
    }

    func testAKafkaCrashDelaysDeploymentsButEveryReplicaConverges() {
        let (outcome, simulation) = run(Serving01, crashes: [CrashFault(node: "kafka", atMs: 9000, restartAfterMs: 1500)])
        XCTAssertEqual(outcome, .passed)
        XCTAssertEqual(simulation.serving.deployments.count + simulation.serving.canaryRollbacks.count, 60)
    }

    func testARegistryCrashDuringPromotionsLosesNoProductionMove() {
        let (outcome, simulation) = run(Serving01, crashes: [CrashFault(node: "registry", atMs: 10_000, restartAfterMs: 1000)])
        XCTAssertEqual(outcome, .passed)
        let versions = simulation.serving.deployments.map(\.version)
        XCTAssertEqual(versions, versions.sorted(), "promoted in order")
        XCTAssertEqual(Set(versions).count, versions.count, "no version registered twice")
    }

    func testAModelsDatabaseCrashDuringRegistrationsNumbersVersionsWithoutGapsOrRepeats() {
        let (outcome, simulation) = run(Serving01, crashes: [CrashFault(node: "models-db", atMs: 9000, restartAfterMs: 1200)])
        XCTAssertEqual(outcome, .passed)
        let numbered = (simulation.serving.deployments.map(\.version) + simulation.serving.canaryRollbacks.map(\.version)).sorted()
        XCTAssertEqual(numbered, Array(1 ... 60))
    }

    func testAnObjectStoreCrashMakesLoadsWaitNotServeWrongWeights() {
        let (outcome, simulation) = run(Serving01, crashes: [CrashFault(node: "minio", atMs: 9000, restartAfterMs: 1500)])
        XCTAssertEqual(outcome, .passed)
        assertAnswersMatchTheirWeights(simulation)
    }

    // MARK: memory

    func testReplicasTooSmallForTheirCacheAreKilledForRunningOutOfMemory() {
        let (outcome, simulation) = run(Serving01) { scenario, _ in
            for index in scenario.topology.nodes.indices where scenario.topology.nodes[index].role == "inference" { scenario.topology.nodes[index].memoryMiB = 12_288 }
        }
        XCTAssertEqual(outcome.checker, "model-memory")
        XCTAssertTrue(outcome.message.contains("was killed for running out of memory"), outcome.message)
        XCTAssertFalse(simulation.serving.outOfMemoryKills.isEmpty)
    }

    func testWithoutDefectsNoReplicaGrowsBeyondBasePlusItsCache() {
        let (outcome, simulation) = run(Serving01, profile: nil)
        XCTAssertEqual(outcome, .passed)
        for (name, replica) in simulation.serving.replicas.sorted(by: { $0.key < $1.key }) {
            XCTAssertLessThanOrEqual(replica.peakBytes, (8192 + 11 * 500) << 20, "\(name): at most one version over the cap while all are in use")
        }
    }

    // MARK: rate limits and clocks

    private func limited(_ scenario: inout Scenario) {
        for index in scenario.workloads.indices {
            guard var workload = scenario.workloads[index] as? ABTestWorkload else { continue }
            workload.serving.rateLimitPerSecond = 30
            workload.serving.rateLimitBurst = 5
            scenario.workloads[index] = workload
        }
    }

    func testCallersOverTheLimitGet429AndTheWindowBoundHolds() {
        let (outcome, simulation) = run(AB04) { scenario, _ in limited(&scenario) }
        XCTAssertEqual(outcome, .passed, "rate-limit: admitted <= burst + floor(W/T) in every window")
        XCTAssertGreaterThan(simulation.platformObservations.rateLimited, 0)
        XCTAssertTrue(simulation.serving.answers.contains { $0.status == 429 })
    }

    func testClockSkewOnTheGatewayDoesNotLoosenTheRateLimit() {
        let (outcome, simulation) = run(AB04) { scenario, faults in
            limited(&scenario)
            faults.clockSkewMs = ["gateway": 5000, "client": -3000]
        }
        XCTAssertEqual(outcome, .passed, "the limiter runs on monotonic time, not the skewed wall clock")
        XCTAssertGreaterThan(simulation.platformObservations.rateLimited, 0)
    }

    func testAGatewayCrashUnderRateLimitedTrafficKeepsEveryCheck() {
        let (outcome, _) = run(AB04, crashes: [CrashFault(node: "gateway", atMs: 14_000, restartAfterMs: 400)]) { scenario, _ in limited(&scenario) }
        XCTAssertEqual(outcome, .passed)
    }

    // MARK: rollouts

    func testARolledBackCanaryStopsServingOnEveryReplica() {
        let (outcome, simulation) = run(Serving01)
        XCTAssertEqual(outcome, .passed)
        XCTAssertEqual(simulation.serving.canaryRollbacks.count, 6)
        let rolledBack = Set(simulation.serving.canaryRollbacks.map(\.version))
        for (replica, canaries) in simulation.serving.canaries.sorted(by: { $0.key < $1.key }) {
            XCTAssertFalse(canaries.values.contains { rolledBack.contains($0.version) }, replica)
        }
        for rollback in simulation.serving.canaryRollbacks {
            let late = simulation.serving.answers.filter { !$0.pinned && $0.status == 200 && $0.servedVersion == rollback.version && $0.sentAt > rollback.time + 2 * Nanos.second }
            XCTAssertTrue(late.isEmpty, "v\(rollback.version) served after its rollback")
        }
    }

    func testACanaryTakesAboutItsShareOfTheUnversionedTraffic() {
        let (_, simulation) = run(Serving01)
        let changes = simulation.serving.canaryChanges.filter { $0.percent == 10 }
        XCTAssertFalse(changes.isEmpty)
        // Requests at 10 %: answered by the canary about a tenth of the time (binomial, wide bound).
        var canary = 0, total = 0
        for change in changes {
            let window = simulation.serving.answers.filter { !$0.pinned && $0.status == 200 && $0.sentAt > change.time + 50 * Nanos.millisecond && $0.sentAt < change.time + 120 * Nanos.millisecond }
            total += window.count
            canary += window.filter { $0.servedVersion == change.version }.count
        }
        XCTAssertGreaterThan(total, 30)
        XCTAssertLessThan(Double(canary) / Double(total), 0.35, "\(canary) of \(total)")
    }

    func testEveryPromotionIsServedOnlyAfterItIsLoadedAndWarm() {
        let (outcome, simulation) = run(Serving01)
        XCTAssertEqual(outcome, .passed)
        XCTAssertTrue(simulation.serving.concurrentArtifactReads.isEmpty, "hot swap: one load per version, before the pointer moves")
        XCTAssertFalse(simulation.serving.answers.contains { $0.status >= 500 })
    }

    func testRollbacksServeTheRolledBackVersionsOwnWeights() {
        let (outcome, simulation) = run(Serving01)
        XCTAssertEqual(outcome, .passed)
        XCTAssertGreaterThan(simulation.serving.promotions.count, simulation.serving.deployments.count, "rollbacks promoted older versions again")
        assertAnswersMatchTheirWeights(simulation)
    }

    // MARK: autoscaling

    func testTheAutoscalerDecidesOnFreshMetricsWithinTheReplicaRange() {
        let (outcome, simulation) = run(Serving01)
        XCTAssertEqual(outcome, .passed)
        let decisions = simulation.serving.scalingDecisions
        XCTAssertGreaterThan(decisions.count, 5)
        XCTAssertTrue(decisions.allSatisfy { (1 ... 3).contains($0.replicas) })
        XCTAssertTrue(decisions.contains { $0.replicas >= 2 }, "50 predictions a second at 20 per replica need more than one")
    }

    func testTheAutoscalerIgnoresACrashedReplicasLastSample() {
        let (outcome, _) = run(Serving01, crashes: [CrashFault(node: "inference-c", atMs: 12_000, restartAfterMs: 6000)])
        XCTAssertEqual(outcome, .passed, "autoscaling: no decision on a sample older than its window")
    }

    // MARK: A/B

    func testTheVerdictIsRefusedBeforeThePlannedSampleAndGivenAfter() {
        let (outcome, simulation) = run(AB04, profile: nil)
        XCTAssertEqual(outcome, .passed)
        let verdicts = simulation.serving.abVerdicts
        XCTAssertEqual(verdicts.first?.status, 409, "asked early: no verdict")
        let given = verdicts.first { $0.status == 200 }
        XCTAssertNotNil(given, "a verdict once every arm has 60 outcomes")
        let arms = given?.arms?.split(separator: ",").map { $0.split(separator: ":").compactMap { Int($0) } } ?? []
        XCTAssertEqual(arms.map { $0[0] }, [1, 2, 3])
        XCTAssertTrue(arms.allSatisfy { $0[1] >= 60 })
    }

    func testDuplicatedAndDroppedMessagesCountEachOutcomeOnce() {
        for seed in UInt64(1) ... 3 {
            let (outcome, simulation) = run(AB04, seed: seed, profile: .swarm)
            XCTAssertEqual(outcome, .passed, "seed \(seed): ab-verdict counts within [acknowledged, sent]")
            XCTAssertFalse(simulation.serving.abOutcomes.isEmpty)
        }
    }

    func testAnArmsUsersStayOnItThroughAReplicaRestart() {
        let (outcome, simulation) = run(AB04, crashes: [CrashFault(node: "inference", atMs: 16_000, restartAfterMs: 500)])
        XCTAssertEqual(outcome, .passed)
        var arm: [String: Int64] = [:]
        for answer in simulation.serving.answers where answer.status == 200 {
            guard let user = answer.user, let version = answer.servedVersion else { continue }
            XCTAssertEqual(arm[user, default: version], version, "user \(user) moved arms")
            arm[user] = version
        }
    }

    // MARK: more faults: clocks, the network's own faults, control-plane crashes

    func testClockSkewOnTheReplicasChangesNoAnswer() {
        let (outcome, simulation) = run(Serving01) { _, faults in
            faults.clockSkewMs = ["inference": 800, "inference-b": -800, "inference-c": 300]
        }
        XCTAssertEqual(outcome, .passed)
        XCTAssertGreaterThan(simulation.serving.answers.filter { $0.status == 200 }.count, 500)
        assertAnswersMatchTheirWeights(simulation)
    }

    func testDuplicatedMessagesRegisterNoVersionTwice() {
        let (outcome, simulation) = run(Serving01) { _, faults in faults.network.duplicateProbability = Ratio(1, 10) }
        XCTAssertEqual(outcome, .passed)
        let numbered = (simulation.serving.deployments.map(\.version) + simulation.serving.canaryRollbacks.map(\.version)).sorted()
        XCTAssertEqual(numbered, Array(1 ... 60), "every deploy is one version, numbered without gaps or repeats")
    }

    func testReorderedMessagesLeaveEveryReplicaOnTheProductionVersion() {
        let (outcome, simulation) = run(Serving01) { _, faults in
            faults.network.reorderProbability = Ratio(1, 10)
            faults.network.reorderDelay = .uniform(min: Nanos.millisecond, max: 50 * Nanos.millisecond)
        }
        XCTAssertEqual(outcome, .passed, "production-version: past convergence only Production versions serve")
        for replica in ["inference", "inference-b", "inference-c"] {
            XCTAssertEqual(simulation.serving.pointers[replica]?["t1/fraud-detector"], production(simulation), replica)
        }
    }

    func testAConsulCrashLeavesTheGatewayRefusingNotMisrouting() {
        let (outcome, simulation) = run(Serving01, crashes: [CrashFault(node: "consul", atMs: 9000, restartAfterMs: 1500)])
        XCTAssertEqual(outcome, .passed, "routing: nothing routed to an instance Consul held critical")
        let during = simulation.serving.answers.filter { $0.sentAt > 9200 * Nanos.millisecond && $0.sentAt < 10_400 * Nanos.millisecond }
        XCTAssertTrue(during.contains { $0.status == 503 }, "without Consul and past its 100 ms view the gateway refuses: \(Set(during.map(\.status)))")
        XCTAssertTrue(simulation.serving.answers.contains { $0.status == 200 && $0.sentAt > 11_000 * Nanos.millisecond }, "and routes again once Consul is back")
    }

    func testAGatewayCutFromConsulRoutesNothingOnceItsListingIsOld() {
        let cut = PartitionFault(sideA: ["gateway"], sideB: ["consul"], atMs: 9000, durationMs: 2000)
        let (outcome, simulation) = run(Serving01, partitions: [cut])
        XCTAssertEqual(outcome, .passed)
        let routed = simulation.platformObservations.routings.filter { $0.time > 9200 * Nanos.millisecond && $0.time < 11_000 * Nanos.millisecond }
        XCTAssertTrue(routed.isEmpty, "no fresh listing, no route: \(routed.count) routed during the cut")
        XCTAssertTrue(simulation.platformObservations.routings.contains { $0.time > 11_500 * Nanos.millisecond })
    }

    func testASchedulerCrashPausesAutoscalingUntilItIsBack() {
        let (outcome, simulation) = run(Serving01, crashes: [CrashFault(node: "scheduler", atMs: 10_000, restartAfterMs: 4000)])
        XCTAssertEqual(outcome, .passed)
        let decisions = simulation.serving.scalingDecisions.map(\.time)
        XCTAssertFalse(decisions.contains { $0 > 10_000 * Nanos.millisecond && $0 < 14_000 * Nanos.millisecond }, "no leader, no decision")
        XCTAssertTrue(decisions.contains { $0 > 14_000 * Nanos.millisecond }, "the restarted scheduler decides again")
    }

    func testARegistryCutFromItsDatabaseDelaysPromotionsAndLosesNone() {
        let cut = PartitionFault(sideA: ["registry"], sideB: ["models-db"], atMs: 9000, durationMs: 2500)
        let (outcome, simulation) = run(Serving01, partitions: [cut])
        XCTAssertEqual(outcome, .passed)
        XCTAssertFalse(simulation.serving.promotions.contains { $0.time > 9100 * Nanos.millisecond && $0.time < 11_500 * Nanos.millisecond },
                       "nothing is committed while the registry cannot reach its database")
        XCTAssertEqual(simulation.serving.deployments.count + simulation.serving.canaryRollbacks.count, 60)
    }

    func testTornWritesAndACrashOfRedisCostOnlyCachedPredictions() {
        let (outcome, simulation) = run(Serving01, crashes: [CrashFault(node: "redis", atMs: 9000, restartAfterMs: 800)]) { _, faults in
            faults.disk.tornWriteProbability = Ratio(1, 2)
        }
        XCTAssertEqual(outcome, .passed)
        XCTAssertTrue(simulation.serving.answers.contains { $0.status == 200 && $0.sentAt > 10_000 * Nanos.millisecond })
        assertAnswersMatchTheirWeights(simulation)
    }

    func testAReplicaCrashDuringAnABTestLosesNoOutcomeAlreadyCounted() {
        let (outcome, simulation) = run(AB04, crashes: [CrashFault(node: "inference-b", atMs: 14_000, restartAfterMs: 700)])
        XCTAssertEqual(outcome, .passed, "ab-verdict: the counts the verdict uses are the outcomes reported, once each")
        XCTAssertTrue(simulation.serving.abVerdicts.contains { $0.status == 200 }, "the verdict is still given")
    }

    func testDroppedMessagesAreRetriedAndEveryAnswerStaysCorrect() {
        let (outcome, simulation) = run(Serving01) { _, faults in
            faults.network.dropProbability = Ratio(1, 50)
            faults.profile = "explicit"  // so the heal at 25 s ends the drops and the deploys can finish
            faults.healAtMs = 25_000
        }
        XCTAssertEqual(outcome, .passed)
        XCTAssertGreaterThan(simulation.platformObservations.retries, 0, "an unanswered idempotent request goes again")
        assertAnswersMatchTheirWeights(simulation)
    }

    // MARK: swarm

    func testSwarmFaultsOn01PassWithoutDefects() {
        for seed in UInt64(1) ... 3 {
            let (outcome, simulation) = run(Serving01, seed: seed, profile: .swarm)
            XCTAssertEqual(outcome, .passed, "seed \(seed)")
            assertAnswersMatchTheirWeights(simulation)
        }
    }

    func testSwarmFaultsOn04PassWithoutDefects() {
        for seed in UInt64(4) ... 6 {
            XCTAssertEqual(run(AB04, seed: seed, profile: .swarm).0, .passed, "seed \(seed)")
        }
    }
}
