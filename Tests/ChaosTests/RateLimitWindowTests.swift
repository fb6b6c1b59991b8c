import SimKernel
import SimServices
import XCTest
@testable import Chaos

/// The rate-limit checker's sliding maximum (`RateLimitChecker.Window`) asks for the scan of an
/// admission's windows exactly when one of them breaks GCRA's bound, so the checker finds what
/// scanning every admission found, at the same admission and worded the same.
final class RateLimitWindowTests: XCTestCase {
    func testOnDrawnSequencesTheWindowAsksForTheScanExactlyWhenAWindowBreaksTheBound() {
        var random = SimRandom(rootSeed: 3, stream: "rate-limit-window")
        var violations = 0, admissions = 0
        for trial in 0 ..< 300 {
            let burst = [1, 2, 5, 20][trial % 4], interval: Int64 = [1_000, 7_919, 1_000_000][trial % 3]
            // Admissions in time order: gaps around the interval, some bursts of gap 0.
            var times: [Int64] = [], now: Int64 = Int64(random.uniform(0 ..< 1_000_000))
            for _ in 0 ..< random.uniform(1 ..< 400) {
                now += random.uniform(0 ..< 4) == 0 ? 0 : Int64(random.uniform(0 ..< Int(interval) * 2))
                times.append(now)
            }
            var window = RateLimitChecker.Window()
            let span = RateLimitChecker.span(burst: burst)
            for index in times.indices {
                admissions += 1
                let scan = RateLimitChecker.firstViolation(at: index, times: times, caller: "c", burst: burst, interval: interval)
                let asked = window.mayBreakTheBound(at: index, times: times, interval: interval, burst: burst, span: span)
                XCTAssertEqual(asked, scan != nil, "trial \(trial) admission \(index): burst \(burst), interval \(interval), times \(times.prefix(index + 1).suffix(8))")
                if scan != nil { violations += 1 }
            }
        }
        // Both answers were exercised many times.
        XCTAssertGreaterThan(violations, 1_000)
        XCTAssertGreaterThan(admissions - violations, 1_000)
    }

    /// The scenarios' limit (burst 500: each admission is checked against the 1,064 before it)
    /// over 3,000 admissions: 2,300 a nanosecond faster than the limit's pace (within the bound,
    /// and each one's `t_s - s * interval` below the last, so the window keeps every admission
    /// until it leaves the span, drops the oldest and compacts its store), then 700 at once.
    func testALongRunAtTheScenariosBurstAsksExactlyWhenTheScanFinds() {
        let burst = 500, interval: Int64 = 200_000
        var times: [Int64] = [], now: Int64 = 0
        for index in 0 ..< 3_000 {
            now += index < 2_300 ? interval - 1 : 0
            times.append(now)
        }
        var window = RateLimitChecker.Window(), asked: [Int] = []
        for index in times.indices {
            let scan = RateLimitChecker.firstViolation(at: index, times: times, caller: "c", burst: burst, interval: interval)
            let may = window.mayBreakTheBound(at: index, times: times, interval: interval, burst: burst, span: RateLimitChecker.span(burst: burst))
            XCTAssertEqual(may, scan != nil, "admission \(index)")
            if may { asked.append(index) }
        }
        XCTAssertFalse(asked.isEmpty, "the burst broke the bound")
        XCTAssertGreaterThanOrEqual(asked.first ?? 0, 2_300, "the paced stretch did not")
        // Nothing was popped from the back (each key below the last), so only compaction can have
        // shrunk the store below the 3,000 admissions pushed.
        XCTAssertLessThan(window.indices.count, 2_500, "the window compacted its store")
    }

    func testTimesOutOfOrderAlwaysTakeTheScan() {
        let times: [Int64] = [0, 10, 5, 20, 30]
        var window = RateLimitChecker.Window()
        let asked = times.indices.map { window.mayBreakTheBound(at: $0, times: times, interval: 100, burst: 10, span: 84) }
        XCTAssertEqual(asked, [false, false, true, true, true])
    }

    /// The checker keeps each caller's progress, in name order, whichever caller the gateway
    /// admitted first: a check with nothing new takes no step, when two callers break the bound
    /// in one change the first by name is the one named, and that caller stays at the admission
    /// that broke it, as the checker did when it kept its progress in tables by name.
    func testTheCheckerFollowsEachCallerFromWhereItLeftOffAndNamesTheFirstByNameThatBreaksTheBound() {
        let scenario = ShippedScenario("01_model_memory_crisis").scenario
        let checker = RateLimitChecker(scenario: scenario)
        let observations = PlatformObservations()
        checker.observations = observations
        let simulation = Simulation(seed: 1)
        let burst = scenario.servingConfiguration.rateLimitBurst, interval = 1_000_000_000 / Int64(scenario.servingConfiguration.rateLimitPerSecond)
        func admit(_ caller: String, _ times: [Int64]) {
            observations.admissions[caller, default: []] += times
            observations.admissionsRevision &+= 1
        }
        // t1/bob first, one admission an interval: within the bound.
        admit("t1/bob", (0 ..< 50).map { Int64($0) * interval })
        XCTAssertNil(checker.check(simulation))
        admit("t1/alice", (0 ..< 30).map { Int64($0) * interval })
        XCTAssertNil(checker.check(simulation))
        XCTAssertEqual(checker.callers.entries.map(\.name), ["t1/alice", "t1/bob"])
        XCTAssertEqual(checker.callers.entries.map(\.state.checked), [30, 50], "each admission checked")
        // A check with nothing new takes no step: the windows are as they were (a re-check from
        // the start would push every admission into them again).
        let indices: [[Int]] = checker.callers.entries.map { $0.state.window.indices }, heads: [Int] = checker.callers.entries.map { $0.state.window.head }
        observations.admissionsRevision &+= 1
        XCTAssertNil(checker.check(simulation))
        XCTAssertEqual(checker.callers.entries.map { $0.state.window.indices }, indices, "nothing new, no step")
        XCTAssertEqual(checker.callers.entries.map { $0.state.window.head }, heads)
        // Both callers get burst + 2 admissions at one instant: the bound breaks for each.
        admit("t1/bob", Array(repeating: 60 * interval, count: burst + 2))
        admit("t1/alice", Array(repeating: 40 * interval, count: burst + 2))
        let message = checker.check(simulation)
        XCTAssertTrue(message?.hasPrefix("the gateway admitted") ?? false, message ?? "nil")
        XCTAssertTrue(message?.contains("requests of t1/alice between") ?? false, message ?? "nil")
        XCTAssertEqual(checker.callers[1].checked, 50, "t1/bob's new admissions wait for the next check")
        // As before the change: t1/alice stays at the admission that broke the bound (the 501st
        // of the instant, index 30 + burst), which a later check finds again.
        XCTAssertEqual(checker.callers[0].checked, 30 + burst)
        observations.admissionsRevision &+= 1
        XCTAssertEqual(checker.check(simulation), message)
    }
}
