import XCTest
@testable import SimKernel
@testable import SimServices

/// The drift monitor's judgement of a view: per-feature tests, Bonferroni, the dataset-drift share
/// rule, exact thresholds, and the M4 and C3 paths.
final class DriftMonitorTests: XCTestCase {
    let view = FeatureView(name: "demo", features: ["age", "income", "tenure", "plan"], categorical: ["plan"], ttl: 1, sla: 1)

    /// Rows of `view`: three numeric features from one latent cause z (+ `shift`), and a plan category.
    func rows(_ count: Int, seed: UInt64, shift: Double = 0, planShift: Bool = false) -> [[String]] {
        var random = SimRandom(seed: seed)
        return (0 ..< count).map { _ in
            let z = random.normal() + shift
            let parts = (0 ..< 3).map { _ in 0.8 * z + 0.6 * random.normal() }
            let plan = planShift ? "p\(random.uniform(0 ..< 2))" : "p\(random.uniform(0 ..< 4))"
            return ["\(40 + 10 * parts[0])", "\(60_000 + 15_000 * parts[1])", "\(36 + 12 * parts[2])", plan]
        }
    }

    func testTheSameSampleNeverDrifts() {
        let sample = rows(200, seed: 1)
        let judgement = DriftMonitor.judge(view, reference: sample, current: sample)
        XCTAssertEqual(judgement.verdicts.map(\.drift), [false, false, false, false])
        XCTAssertEqual(judgement.verdicts.map(\.score), [1, 1, 1, 1], "identical samples: every p-value is 1")
        XCTAssertTrue(judgement.alerts.isEmpty)
    }

    /// Numeric features take KS and the categorical one chi-squared while the reference has at
    /// most 1,000 rows; above that, normed Wasserstein and Jensen-Shannon.
    func testTheMethodFollowsTheReferenceSizeAndTheFeatureKind() {
        let small = DriftMonitor.judge(view, reference: rows(1000, seed: 1), current: rows(100, seed: 2))
        XCTAssertEqual(small.verdicts.map(\.method), [.kolmogorovSmirnov, .kolmogorovSmirnov, .kolmogorovSmirnov, .chiSquared])
        let large = DriftMonitor.judge(view, reference: rows(1001, seed: 1), current: rows(100, seed: 2))
        XCTAssertEqual(large.verdicts.map(\.method), [.wasserstein, .wasserstein, .wasserstein, .jensenShannon])
        XCTAssertEqual(large.verdicts.map(\.divisor), [1, 1, 1, 1], "distances are not corrected")
    }

    /// Bonferroni: each p-value is held to 0.05 divided by the number of p-value tests of the view.
    func testPValuesAreBonferroniCorrectedOverTheView() {
        let judgement = DriftMonitor.judge(view, reference: rows(300, seed: 1), current: rows(100, seed: 2))
        XCTAssertEqual(judgement.verdicts.map(\.divisor), [4, 4, 4, 4])
        XCTAssertEqual(judgement.verdicts.map(\.threshold.description), ["0.05", "0.05", "0.05", "0.05"])
    }

    /// A shift of the common cause moves every correlated feature: one alert, for the view, naming them.
    func testACorrelatedShiftIsOneAlertForTheGroup() {
        let judgement = DriftMonitor.judge(view, reference: rows(500, seed: 1), current: rows(100, seed: 2, shift: 1.5))
        XCTAssertEqual(judgement.verdicts.filter(\.drift).map(\.feature), ["age", "income", "tenure"])
        XCTAssertEqual(judgement.alerts.count, 1)
        XCTAssertEqual(judgement.alerts.first?.group, "demo")
        XCTAssertEqual(judgement.alerts.first?.features, ["age", "income", "tenure"])
    }

    /// M4 alerts once per drifted feature (correlated copies counted as independent).
    func testM4RaisesOneAlertPerCorrelatedFeature() {
        let judgement = DriftMonitor.judge(view, reference: rows(500, seed: 1), current: rows(100, seed: 2, shift: 1.5), defects: DefectSet([.M4]))
        XCTAssertEqual(judgement.alerts.map(\.group), ["age", "income", "tenure"])
        XCTAssertEqual(judgement.verdicts.map(\.divisor), [1, 1, 1, 1], "no correction")
    }

    /// One drifted feature of four is below the 50 % share: no alert without M4, an alert with it.
    func testOneDriftedFeatureOfFourIsBelowTheShare() {
        let judgement = DriftMonitor.judge(view, reference: rows(500, seed: 1), current: rows(200, seed: 2, planShift: true))
        XCTAssertEqual(judgement.verdicts.filter(\.drift).map(\.feature), ["plan"])
        XCTAssertTrue(judgement.alerts.isEmpty)
        let m4 = DriftMonitor.judge(view, reference: rows(500, seed: 1), current: rows(200, seed: 2, planShift: true), defects: DefectSet([.M4]))
        XCTAssertEqual(m4.alerts.map(\.group), ["plan"])
    }

    /// C3 reads a p-value as a distance: identical samples (p = 1) "drift".
    func testC3CallsIdenticalSamplesDrifted() {
        let sample = rows(200, seed: 1)
        let judgement = DriftMonitor.judge(view, reference: sample, current: sample, defects: DefectSet([.C3]))
        XCTAssertEqual(judgement.verdicts.map(\.drift), [true, true, true, true])
        XCTAssertEqual(judgement.alerts.count, 1)
    }

    /// The exact rule at the threshold: the double nearest 0.01 lies above 0.05/5, so it does not
    /// drift, and the double just below it does (Python: Fraction(0.01) > Fraction(1, 100)).
    func testTheVerdictIsExactAtTheCorrectedThreshold() {
        let threshold = DecimalThreshold("0.05")!
        XCTAssertFalse(DriftMonitor.verdict(method: .kolmogorovSmirnov, score: 0.01, threshold: threshold, divisor: 5))
        XCTAssertTrue(DriftMonitor.verdict(method: .kolmogorovSmirnov, score: 0.01.nextDown, threshold: threshold, divisor: 5))
        // 0.1 as a double is above 0.1, so a distance of (double) 0.1 reaches the threshold.
        XCTAssertTrue(DriftMonitor.verdict(method: .wasserstein, score: 0.1, threshold: DecimalThreshold("0.1")!, divisor: 1))
        XCTAssertFalse(DriftMonitor.verdict(method: .wasserstein, score: 0.1.nextDown, threshold: DecimalThreshold("0.1")!, divisor: 1))
    }

    /// The judgement is a pure function of its input: the same rows give the same judgement.
    func testTheJudgementIsAPureFunctionOfItsInput() {
        let reference = rows(300, seed: 5), current = rows(80, seed: 6, shift: 0.3)
        XCTAssertEqual(DriftMonitor.judge(view, reference: reference, current: current), DriftMonitor.judge(view, reference: reference, current: current))
    }

    /// Windows without drift: the correct monitor's alarm rate stays within alpha = 0.05 (at most
    /// 27 of 200 windows: scipy's binom.sf(27, 200, 0.05) = 9.6e-7 < 1e-6, and binom.sf(26, ...) is
    /// above it), while M4's any-of-four rule without correction alarms far
    /// more (expected 1 - 0.95^4 = 19 % for independent features; correlation lowers it, so the
    /// test asks only for more than the bound alpha allows).
    func testWithoutDriftTheAlarmRateStaysWithinAlphaAndM4ExceedsIt() {
        let reference = rows(100, seed: 99)
        var alarms = 0, m4Alarms = 0
        for window in 0 ..< 200 {
            let current = rows(50, seed: UInt64(1000 + window))
            if !DriftMonitor.judge(view, reference: reference, current: current).alerts.isEmpty { alarms += 1 }
            if !DriftMonitor.judge(view, reference: reference, current: current, defects: DefectSet([.M4])).alerts.isEmpty { m4Alarms += 1 }
        }
        XCTAssertLessThanOrEqual(alarms, 27)
        XCTAssertGreaterThan(m4Alarms, 27)
    }
}
