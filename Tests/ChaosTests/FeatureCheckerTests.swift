import XCTest
@testable import Chaos
@testable import SimKernel
@testable import SimServices

/// Scenario 03's checkers on observations planted by hand.
final class FeatureCheckerTests: XCTestCase {
    /// The alarm-rate bound is the smallest k with P(Binomial(n, 0.05) > k) <= 1e-6, as scipy's
    /// binom.sf gives it: 16 for n = 80 (sf 3.7e-7), 27 for 200 (9.6e-7), 44 for 400 (4.6e-7).
    func testTheAlarmBoundIsTheBinomialQuantileAtOneInAMillion() {
        XCTAssertEqual(DriftAlarmsChecker.binomialBound(n: 80, p: 0.05, tail: 1e-6), 16)
        XCTAssertEqual(DriftAlarmsChecker.binomialBound(n: 200, p: 0.05, tail: 1e-6), 27)
        XCTAssertEqual(DriftAlarmsChecker.binomialBound(n: 400, p: 0.05, tail: 1e-6), 44)
    }

    func scenario() -> Scenario { try! ScenarioLoader.load(nameOrPath: Chaos05.packageRoot.appendingPathComponent("Scenarios/03_feature_drift_storm.yaml").path) }

    /// A validator that accepted a triangle is named, with the cycle Kahn's sort cannot order.
    func testDAGValidationNamesAnAcceptedCycle() {
        let checker = DAGValidationChecker(scenario: scenario())
        let observations = FeatureObservations()
        observations.graphVerdicts = [.init(at: 0, service: "pipeline", name: "ok", edges: ["a>b", "a>c", "b>d", "c>d"], accepted: true),
                                      .init(at: 1, service: "pipeline", name: "loop", edges: ["a>b", "b>c", "c>a"], accepted: true)]
        XCTAssertEqual(checker.checkNew(observations, Simulation(seed: 1)),
                       "pipeline's validator accepted loop [a>b, b>c, c>a], which Kahn's topological sort finds cyclic (cycle a -> b -> c -> a)")
    }

    /// A refused diamond is a wrong verdict too.
    func testDAGValidationNamesARefusedDiamond() {
        let checker = DAGValidationChecker(scenario: scenario())
        let observations = FeatureObservations()
        observations.graphVerdicts = [.init(at: 0, service: "features", name: "v", edges: ["a>b", "a>c", "b>d", "c>d"], accepted: false)]
        XCTAssertEqual(checker.checkNew(observations, Simulation(seed: 1)),
                       "features's validator refused v [a>b, a>c, b>d, c>d], which Kahn's topological sort finds acyclic")
    }

    /// A second alert for the same view and window is the storm.
    func testTwoAlertsForOneViewAndWindowAreAViolation() {
        let checker = DriftAlarmsChecker(scenario: scenario())
        let observations = FeatureObservations()
        observations.shiftedWindows["v"] = [7: true]
        observations.alerts = [.init(at: 0, eventID: "a", view: "v", group: "age", window: 7, features: ["age"])]
        XCTAssertNil(checker.checkNew(observations, Simulation(seed: 1)))
        observations.alerts.append(.init(at: 1, eventID: "b", view: "v", group: "income", window: 7, features: ["income"]))
        XCTAssertEqual(checker.checkNew(observations, Simulation(seed: 1)), "v raised 2 alerts for window 7 (age, income): one shift of correlated features must be one alert")
    }

    /// A joined row that happened after the join's instant is a leak from the future.
    func testAJoinedRowFromTheFutureIsAViolation() {
        let checker = PointInTimeChecker(scenario: scenario())
        let observations = FeatureObservations()
        observations.producedRows["r1"] = (eventTime: 5 * Nanos.second, entity: "u1", view: "v")
        observations.joins = [.init(at: 0, view: "v", entity: "u1", asOf: 4 * Nanos.second, ttl: 10 * Nanos.second, sourceID: "r1", storedEventTime: 3 * Nanos.second)]
        XCTAssertEqual(checker.checkNew(observations, Simulation(seed: 1)),
                       "the point-in-time join of v/u1 as of 4.000s returned row r1, which happened at 5.000s, 1.000s later (stored as 3.000s)")
    }

    /// A read begun after another was answered, serving a lower version, is the cache going back.
    func testAServedVersionGoingBackIsAViolation() {
        let checker = FeatureCacheChecker(scenario: scenario())
        let observations = FeatureObservations()
        observations.onlineReads = [.init(at: 1 * Nanos.second, started: 0, view: "v", entity: "u1", version: 9, eventTime: 9, ttl: 100, readClock: 10),
                                    .init(at: 3 * Nanos.second, started: 2 * Nanos.second, view: "v", entity: "u1", version: 8, eventTime: 8, ttl: 100, readClock: 11)]
        XCTAssertEqual(checker.checkNew(observations, Simulation(seed: 1)),
                       "features served v/u1 at version 8 at 3.000s (asked at 2.000s), after serving version 9 at 1.000s: the cached value went back")
    }

    /// Two reads in flight together may be answered in either order: the older value answered
    /// last is not a violation (it may have been read from Redis before the newer write).
    func testOverlappingReadsAnsweredOutOfOrderAreNotAViolation() {
        let checker = FeatureCacheChecker(scenario: scenario())
        let observations = FeatureObservations()
        observations.onlineReads = [.init(at: 2 * Nanos.second, started: 1 * Nanos.second, view: "v", entity: "u1", version: 9, eventTime: 9, ttl: 100, readClock: 10),
                                    .init(at: 3 * Nanos.second, started: 0, view: "v", entity: "u1", version: 8, eventTime: 8, ttl: 100, readClock: 11)]
        XCTAssertNil(checker.checkNew(observations, Simulation(seed: 1)))
        // A third read begun after both were answered must see version 9 or newer.
        observations.onlineReads.append(.init(at: 5 * Nanos.second, started: 4 * Nanos.second, view: "v", entity: "u1", version: 8, eventTime: 8, ttl: 100, readClock: 12))
        XCTAssertEqual(checker.checkNew(observations, Simulation(seed: 1)),
                       "features served v/u1 at version 8 at 5.000s (asked at 4.000s), after serving version 9 at 2.000s: the cached value went back")
    }

    /// A join begun after a backfill was staged that answers an older row than the backfill's
    /// newest for the entity was computed over part of it; one begun before the staging is not judged.
    func testAJoinMissingABackfilledRowIsAPartialBackfill() {
        let checker = BackfillChecker(scenario: scenario())
        let observations = FeatureObservations()
        observations.backfills = [.init(at: 5 * Nanos.second, id: 1, view: "v", rows: [("b1", "u1", 1 * Nanos.second), ("b2", "u1", 2 * Nanos.second)])]
        observations.joins = [.init(at: 5 * Nanos.second, started: 4 * Nanos.second, view: "v", entity: "u1", asOf: 3 * Nanos.second, ttl: 10 * Nanos.second,
                                    sourceID: nil, storedEventTime: nil)]
        XCTAssertNil(checker.checkNew(observations, Simulation(seed: 1)), "begun before the staging")
        observations.joins.append(.init(at: 7 * Nanos.second, started: 6 * Nanos.second, view: "v", entity: "u1", asOf: 3 * Nanos.second, ttl: 10 * Nanos.second,
                                        sourceID: "b2", storedEventTime: 2 * Nanos.second))
        XCTAssertNil(checker.checkNew(observations, Simulation(seed: 1)), "the newest backfilled row")
        observations.joins.append(.init(at: 8 * Nanos.second, started: 7 * Nanos.second, view: "v", entity: "u1", asOf: 3 * Nanos.second, ttl: 10 * Nanos.second,
                                        sourceID: "b1", storedEventTime: 1 * Nanos.second))
        XCTAssertEqual(checker.checkNew(observations, Simulation(seed: 1)),
                       "features answered the join of v/u1 as of 3.000s at 8.000s with row b1 from 1.000s, but backfill #1 (staged at 5.000s) holds row b2 from 2.000s: a partial backfill served as complete")
    }

    /// A reader of v1 served a value other than its producer's, under the feature's name, is a
    /// schema-evolution violation; so is any join that failed on a row of another version.
    func testSchemaEvolutionComparesServedValuesByName() {
        let checker = SchemaEvolutionChecker(scenario: scenario())
        let observations = FeatureObservations()
        observations.producedNamed["p1"] = ["plan": "pro", "tenure_days": "12", "referrals": "3"]
        observations.joins = [.init(at: 1, view: "user_profile", entity: "u1", asOf: 1, ttl: 10, version: 1, sourceID: "p1", storedEventTime: 0,
                                    values: [("plan", "pro"), ("tenure_days", "12")])]
        XCTAssertNil(checker.checkNew(observations, Simulation(seed: 1)))
        observations.joins.append(.init(at: 2, view: "user_profile", entity: "u1", asOf: 1, ttl: 10, version: 1, sourceID: "p1", storedEventTime: 0,
                                        values: [("plan", "pro"), ("tenure_days", "3")]))
        XCTAssertEqual(checker.checkNew(observations, Simulation(seed: 1)),
                       "features served user_profile/u1 to a v1 reader as plan=pro;tenure_days=3, but row p1 says plan=pro;tenure_days=12")
        observations.joinFailures = [(at: 3 * Nanos.second, message: "user_profile v1 reader: row p1 of u1 (written under v2): the row has 3 values, the reader's schema 2 features")]
        XCTAssertEqual(checker.checkNew(observations, Simulation(seed: 1)),
                       "features failed a point-in-time join at 3.000s: user_profile v1 reader: row p1 of u1 (written under v2): the row has 3 values, the reader's schema 2 features")
    }
}
