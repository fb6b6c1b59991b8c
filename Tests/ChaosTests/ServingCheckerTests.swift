import XCTest
@testable import Chaos
@testable import SimKernel
@testable import SimServices

/// The serving checkers on observations written by hand: each finds exactly the symptom it
/// names and lets the look-alike through.
final class ServingCheckerTests: XCTestCase {
    let ms = Nanos.millisecond

    // MARK: Consul's health history

    func testAnInstanceCriticalThroughoutTheWindowIsHeldCritical() {
        let observations = PlatformObservations()
        observations.consul("inference-2", critical: true, at: 1000 * ms)
        XCTAssertTrue(observations.consulHeldCritical("inference-2", from: 1000 * ms, to: 1100 * ms))
        XCTAssertTrue(observations.consulHeldCritical("inference-2", from: 1500 * ms, to: 1600 * ms))
    }

    func testAnInstanceThatWentCriticalInsideTheWindowIsNotHeldCritical() {
        let observations = PlatformObservations()
        observations.consul("inference-2", critical: true, at: 1050 * ms)
        XCTAssertFalse(observations.consulHeldCritical("inference-2", from: 1000 * ms, to: 1100 * ms))
    }

    func testAnInstancePassingAgainInsideTheWindowIsNotHeldCritical() {
        let observations = PlatformObservations()
        observations.consul("inference-2", critical: true, at: 500 * ms)
        observations.consul("inference-2", critical: false, at: 1080 * ms)
        XCTAssertFalse(observations.consulHeldCritical("inference-2", from: 1000 * ms, to: 1100 * ms))
        XCTAssertFalse(observations.consulHeldCritical("inference-2", from: 1200 * ms, to: 1300 * ms))
    }

    func testOnlyChangesOfHealthAreKept() {
        let observations = PlatformObservations()
        observations.consul("inference-1", critical: false, at: 10 * ms)  // passing is where an instance starts
        observations.consul("inference-1", critical: true, at: 20 * ms)
        observations.consul("inference-1", critical: true, at: 30 * ms)
        observations.consul("inference-1", critical: false, at: 40 * ms)
        XCTAssertEqual(observations.consulHealth["inference-1"]?.map(\.at), [20 * ms, 40 * ms])
        XCTAssertEqual(observations.consulHealth["inference-1"]?.map(\.critical), [true, false])
    }

    func testAnInstanceConsulNeverHeldCriticalIsNeverHeldCritical() {
        XCTAssertFalse(PlatformObservations().consulHeldCritical("inference-9", from: 0, to: Nanos.second))
    }

    // MARK: routing

    func routing(_ observations: PlatformObservations, at time: Int64, to instance: String) -> String? {
        let simulation = Simulation(seed: 1)
        let checker = RoutingChecker()
        checker.observations = observations
        observations.update("inference") { $0.registeredWithCheck = true }
        observations.routings.append((time, "inference", instance))
        return checker.check(simulation)
    }

    func testARouteToAnInstanceCriticalForLongerThanTheHealthViewIsFound() {
        let observations = PlatformObservations()
        observations.consul("inference-2", critical: true, at: 1000 * ms)
        let message = routing(observations, at: 1000 * ms + GatewayService.healthViewNanos + ms, to: "inference-2")
        XCTAssertNotNil(message)
        XCTAssertTrue(message?.contains("Consul had held critical since 1.000s") ?? false, message ?? "")
    }

    func testARouteWithinTheHealthViewOfAFreshlyCriticalInstanceIsAllowed() {
        let observations = PlatformObservations()
        observations.consul("inference-2", critical: true, at: 1000 * ms)
        XCTAssertNil(routing(observations, at: 1000 * ms + GatewayService.healthViewNanos - ms, to: "inference-2"))
        XCTAssertNil(routing(observations, at: 5000 * ms, to: "inference-1"), "another instance")
    }

    // MARK: canary rollback

    func canaryCheck(_ changes: [(time: Int64, model: String, version: Int64, percent: Int, generation: Int64)]) -> String? {
        let checker = CanaryRollbackChecker(scenario: Serving01.scenario)
        let serving = ServingObservations()
        serving.canaryChanges = changes
        checker.serving = serving
        return checker.check(Simulation(seed: 1))
    }

    func testAStepHeardOfAfterTheRollbackButCommittedBeforeItIsNotAReactivation() {
        // The step committed (generation 2) before the rollback (3); its answer came late.
        XCTAssertNil(canaryCheck([(100 * ms, "m", 5, 10, 1), (300 * ms, "m", 5, 0, 3), (800 * ms, "m", 5, 50, 2)]))
    }

    func testAStepCommittedAfterTheRollbackIsFound() {
        let message = canaryCheck([(100 * ms, "m", 5, 10, 1), (300 * ms, "m", 5, 0, 2), (400 * ms, "m", 5, 50, 3)])
        XCTAssertTrue(message?.contains("made m v5 the canary again (50 %, generation 3)") ?? false, message ?? "nil")
    }

    func testARollbackHeardOfAfterALaterStepIsFoundToo() {
        // The registry heard of the step (generation 3) before the end it followed (2).
        let message = canaryCheck([(100 * ms, "m", 5, 10, 1), (300 * ms, "m", 5, 50, 3), (400 * ms, "m", 5, 0, 2)])
        XCTAssertTrue(message?.contains("generation 3") ?? false, message ?? "nil")
    }

    func testAnotherVersionsCanaryAfterARollbackIsNoReactivation() {
        XCTAssertNil(canaryCheck([(100 * ms, "m", 5, 10, 1), (300 * ms, "m", 5, 0, 2), (400 * ms, "m", 6, 10, 3)]))
    }

    // MARK: production version after a restart

    /// A replica restarted at 31 s (after the heal at 30 s) answers with v1 while v2 has been in
    /// Production since 10 s; the check judges that only `settle` (10 s) after the restart.
    func productionCheck(answerSentAt sentAt: Int64) -> String? {
        let simulation = Simulation(seed: 1)
        let node = simulation.addNode("inference")
        simulation.schedule(at: 31 * Nanos.second) {
            node.crash()
            node.restart()
        }
        simulation.run()
        XCTAssertEqual(node.restartedAt, 31 * Nanos.second)
        let checker = ProductionVersionChecker(scenario: Serving01.scenario)
        XCTAssertEqual(Serving01.scenario.healAtSeconds, 30, "the premise: faults heal at 30 s")
        let serving = ServingObservations()
        serving.promotions = [(1 * Nanos.second, "m", 1), (10 * Nanos.second, "m", 2)]
        var answer = ServingObservations.Answer(sentAt: sentAt, answeredAt: sentAt + 40 * ms, model: "m", version: nil, status: 200, replica: "inference", error: nil, servedVersion: 1)
        answer.pinned = false
        serving.answers = [answer]
        checker.serving = serving
        checker.replicas = [node]
        return checker.check(simulation)
    }

    func testARestartAfterTheHealPutsOffTheJudgementBySettle() {
        XCTAssertEqual(Convergence.settle, 10 * Nanos.second)
        XCTAssertNil(productionCheck(answerSentAt: 40_500 * ms), "heal + 10 s has passed, but not restart + 10 s")
        let message = productionCheck(answerSentAt: 41_500 * ms)
        XCTAssertTrue(message?.contains("inference served m v1 at 41.500s, past convergence, while v2 is in Production") ?? false, message ?? "nil")
    }

    // MARK: the serving benchmark's knobs and figures

    func testRequestBatchingIsSetOnTheServingWorkloadsOnly() {
        for scenario in [Serving01.scenario, ShippedScenario("04_ab_test_disaster").scenario] {
            let batched = scenario.withRequestBatching(maxSize: 8, maxWaitMillis: 7)
            XCTAssertEqual(batched.servingConfiguration.batchMaxSize, 8, scenario.name)
            XCTAssertEqual(batched.servingConfiguration.batchMaxWaitMillis, 7, scenario.name)
            XCTAssertEqual(batched.withRequestBatching(maxSize: 1, maxWaitMillis: 7).servingConfiguration.batchMaxSize, 1, scenario.name)
            XCTAssertEqual(batched.workloads.count, scenario.workloads.count)
            XCTAssertEqual(batched.servingConfiguration.rateLimitPerSecond, scenario.servingConfiguration.rateLimitPerSecond, "nothing else changes")
        }
    }

    func testLatencyPercentilesAreNearestRank() {
        let latencies: [Int64] = (1 ... 200).map { Int64($0) }
        var generator = Xoshiro256StarStar(seed: 3)
        let percentiles = ServingSummary.percentiles(of: latencies.shuffled(using: &generator))
        XCTAssertEqual(percentiles?.p50, 100)
        XCTAssertEqual(percentiles?.p95, 190)
        XCTAssertEqual(percentiles?.p99, 198)
        XCTAssertNil(ServingSummary.percentiles(of: []))
        XCTAssertEqual(ServingSummary.percentiles(of: [7])?.p99, 7)
    }
}
