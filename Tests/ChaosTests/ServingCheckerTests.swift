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

    /// The versions a window may serve, as first written: every promotion and canary change of
    /// the run scanned from the start.
    func referenceProductionVersions(_ serving: ServingObservations, model: String, from: Int64, to: Int64) -> [Int64] {
        var versions: [Int64] = []
        var current: Int64?
        for promotion in serving.promotions where promotion.model == model {
            if promotion.time <= from { current = promotion.version; continue }
            if promotion.time > to { break }
            versions.append(promotion.version)
        }
        var canary: Int64?
        for change in serving.canaryChanges where change.model == model {
            if change.time <= from { canary = change.percent > 0 ? change.version : nil; continue }
            if change.time > to { break }
            if change.percent > 0 { versions.append(change.version) }
        }
        return (current.map { [$0] } ?? []) + versions + (canary.map { [$0] } ?? [])
    }

    /// The bisection finds the window's start exactly as the scan did: drawn logs of two models
    /// with ties in time (several changes at one instant), canaries ending (percent 0), windows
    /// before, across and after the logs, and on their entries' times exactly.
    func testTheVersionsAWindowMayServeAreTheScansOnDrawnLogs() {
        var random = SimRandom(rootSeed: 5, stream: "production-versions")
        let checker = ProductionVersionChecker(scenario: Serving01.scenario)
        var nonEmpty = 0
        for _ in 0 ..< 300 {
            let serving = ServingObservations()
            var time: Int64 = 0
            for _ in 0 ..< random.uniform(0 ..< 25) {
                time += Int64(random.uniform(0 ..< 3)) * 100 * ms
                serving.promotions.append((time, ["m", "n"][random.uniform(0 ..< 2)], Int64(random.uniform(1 ..< 9))))
            }
            time = 0
            for generation in 0 ..< random.uniform(0 ..< 25) {
                time += Int64(random.uniform(0 ..< 3)) * 100 * ms
                serving.canaryChanges.append((time, ["m", "n"][random.uniform(0 ..< 2)], Int64(random.uniform(1 ..< 9)), [0, 10, 50][random.uniform(0 ..< 3)], Int64(generation)))
            }
            for _ in 0 ..< 20 {
                let from = Int64(random.uniform(-2 ..< 40)) * 50 * ms, to = from + Int64(random.uniform(0 ..< 20)) * 50 * ms
                let model = ["m", "n"][random.uniform(0 ..< 2)]
                let expected = referenceProductionVersions(serving, model: model, from: from, to: to)
                if !expected.isEmpty { nonEmpty += 1 }
                XCTAssertEqual(checker.productionVersions(serving, model: model, from: from, to: to), expected,
                               "\(model) \(from)...\(to) promotions \(serving.promotions) canaries \(serving.canaryChanges)")
            }
        }
        XCTAssertGreaterThan(nonEmpty, 3_000, "most windows have versions to compare")
    }

    // MARK: cache eviction across replicas

    /// Replicas' traces judged whatever order they appear in, each from where the last check
    /// left it and in name order: a replica that starts its trace after another (and sorts before
    /// it) has its not-least-recently-used eviction found first when both break the rule in one
    /// check, named, with nothing of the other replica's trace mixed into its replay; the other's
    /// is found at the next check.
    func testCacheEvictionJudgesEachReplicaFromWhereItLeftOffInNameOrderWhicheverAppearsFirst() {
        let simulation = Simulation(seed: 1)
        let checker = CacheEvictionChecker(scenario: Serving01.scenario)
        let serving = ServingObservations()
        checker.serving = serving
        let a = ModelKey("m", 1), b = ModelKey("m", 2), c = ModelKey("m", 3)
        // inference-c: loads a and b, evicts a (the least recently used, b just loaded): fine.
        serving.cacheTraces["inference-c"] = [.insert(a, pinned: false), .insert(b, pinned: false), .evict(a)]
        XCTAssertNil(checker.check(simulation))
        // inference-a appears: loads a and b, uses a again and ends that use: a is the most recently used.
        serving.cacheTraces["inference-a"] = [.insert(a, pinned: false), .insert(b, pinned: false), .use(a, hit: true), .unpin(a)]
        serving.cacheTraces["inference-c"]!.append(contentsOf: [.insert(c, pinned: false), .use(b, hit: true), .unpin(b)])
        XCTAssertNil(checker.check(simulation))
        XCTAssertEqual(checker.replicas.entries.map(\.name), ["inference-a", "inference-c"])
        XCTAssertEqual(checker.replicas.entries.map(\.state.position), [4, 6], "each replica's trace replayed to its end, once")
        // Both evict their most recently used version in one change: inference-a's a (used after
        // b), inference-c's b (used after c was loaded).
        serving.cacheTraces["inference-c"]!.append(contentsOf: [.insert(a, pinned: false), .evict(b)])
        serving.cacheTraces["inference-a"]!.append(contentsOf: [.insert(c, pinned: false), .evict(a)])
        let first = checker.check(simulation)
        XCTAssertTrue(first?.hasPrefix("inference-a evicted m v1, used more recently than m v2") ?? false, first ?? "nil")
        // The next change to the traces (inference-a ends a use) has inference-c's eviction judged.
        serving.cacheTraces["inference-a"]!.append(.unpin(c))
        let second = checker.check(simulation)
        XCTAssertTrue(second?.hasPrefix("inference-c evicted m v2, used more recently than m v3") ?? false, second ?? "nil")
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
