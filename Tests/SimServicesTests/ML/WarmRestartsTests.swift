import XCTest
#if canImport(Glibc)
import Glibc
#endif
@testable import SimServices

/// SGDR against values worked out by hand from its definition (Loshchilov & Hutter, eq. 5; PyTorch's
/// `CosineAnnealingWarmRestarts`): base 0.1, eta_min 0.001, T0 8, Tmult 2 restarts at steps 8, 24,
/// 56, 120; half-way through a period the rate is (0.1 + 0.001) / 2 = 0.0505.
final class WarmRestartsTests: XCTestCase {
    func rates(_ count: Int, restartLate: Bool = false, tMult: Int = 2) -> [Double] {
        var schedule = WarmRestartsSchedule(base: 0.1, etaMin: 0.001, t0: 8, tMult: tMult, restartLate: restartLate)
        return (0 ..< count).map { _ in
            defer { schedule.step() }
            return schedule.rate
        }
    }

    func testTheFirstStepRunsAtTheBaseRate() { XCTAssertEqual(rates(1)[0], 0.1, accuracy: 1e-15) }

    func testHalfwayThroughThePeriodTheRateIsTheMidpoint() { XCTAssertEqual(rates(5)[4], 0.0505, accuracy: 1e-15) }

    func testTheRestartsComeAtTheDoublingPeriodBoundaries() {
        let trace = rates(121)
        for restart in [8, 24, 56, 120] { XCTAssertEqual(trace[restart], 0.1, accuracy: 1e-15, "step \(restart)") }
    }

    func testTheSecondPeriodIsTwiceAsLong() {
        let trace = rates(25)
        XCTAssertEqual(trace[16], 0.0505, accuracy: 1e-15)  // T_cur 8 of T_i 16
        XCTAssertLessThan(trace[23], trace[22])
    }

    func testTheRateFallsMonotonicallyWithinAPeriod() {
        let trace = rates(24)
        for step in 9 ..< 24 { XCTAssertLessThan(trace[step], trace[step - 1], "step \(step)") }
    }

    func testTheRateNeverLeavesEtaMinAndBase() {
        for rate in rates(300) { XCTAssertTrue(rate >= 0.001 - 1e-15 && rate <= 0.1 + 1e-15, "\(rate)") }
    }

    func testAConstantPeriodRestartsEveryT0Steps() {
        let trace = rates(33, tMult: 1)
        for restart in [8, 16, 24, 32] { XCTAssertEqual(trace[restart], 0.1, accuracy: 1e-15) }
    }

    func testTheLateRestartRunsTheBoundaryStepAtEtaMin() {
        let late = rates(10, restartLate: true)
        XCTAssertEqual(late[8], 0.001, accuracy: 1e-15)
        XCTAssertEqual(late[9], 0.1, accuracy: 1e-15)
    }

    func testTheLateRestartShiftsEveryLaterRestartByOneMore() {
        let late = rates(30, restartLate: true)
        XCTAssertEqual(late[26], 0.1, accuracy: 1e-15)  // 8 + 1, then 16 + 1 more
    }

    func testTheSteppedScheduleEqualsTheClosedFormForAThousandSteps() {
        let trace = rates(1000)
        for (step, rate) in trace.enumerated() {
            var start = 0, period = 8
            while step >= start + period { start += period; period *= 2 }
            let expected = 0.001 + 0.099 * (1 + cos(Double.pi * Double(step - start) / Double(period))) / 2
            XCTAssertEqual(rate, expected, accuracy: 1e-15, "step \(step)")
        }
    }
}
