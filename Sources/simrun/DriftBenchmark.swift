import Foundation
import SimServices

/// `simrun bench --drift`: the drift statistics' speed, beside scipy on the same data.
extension BenchCommand {
    /// Deterministic samples (the formulas of the statistics' reference tests): n values in [0, 1)
    /// and n values in [shift, 1 + shift).
    static func driftSample(_ n: Int) -> [Double] { (0 ..< n).map { Double(($0 * 7919) % 10007) / 10007.0 } }
    static func driftCurrent(_ n: Int, shift: Double) -> [Double] { (0 ..< n).map { Double(($0 * 104729 + 13) % 10009) / 10009.0 + shift } }

    /// The same two measurements in Python: scipy.stats.ks_2samp (method auto: exact here) and
    /// Evidently's normed Wasserstein (wasserstein_distance / np.std(reference)).
    static let scipyDrift = """
        import sys, time
        import numpy as np
        from scipy import stats
        def sample(n): return np.array([((i * 7919) % 10007) / 10007.0 for i in range(n)])
        def current(n, s): return np.array([((i * 104729 + 13) % 10009) / 10009.0 + s for i in range(n)])
        def rate(f, minimum):
            count, start = 0, time.perf_counter()
            while True:
                f(); count += 1
                elapsed = time.perf_counter() - start
                if elapsed >= minimum: return count / elapsed
        ref1, ref2, cur = sample(1000), sample(100000), current(1000, 0.01)
        ks = rate(lambda: stats.ks_2samp(ref1, cur), 1.0)
        wd = rate(lambda: stats.wasserstein_distance(ref2, cur) / np.std(ref2), 1.0)
        print(ks, wd)
        """

    /// Tests per wall second of `body`, run for at least `minimum` seconds.
    static func rate(minimum: Double, _ body: () -> Double) -> (perSecond: Double, checksum: Double) {
        var count = 0, checksum = 0.0
        let start = DispatchTime.now().uptimeNanoseconds  // determinism-ok: a benchmark's wall clock, outside any simulation
        while true {
            checksum += body()
            count += 1
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9  // determinism-ok: as above
            if elapsed >= minimum { return (Double(count) / elapsed, checksum) }
        }
    }

    func runDrift() {
        let reference1k = Self.driftSample(1000), reference100k = Self.driftSample(100_000), current = Self.driftCurrent(1000, shift: 0.01)
        let method1k = DriftStatistics.defaultMethod(referenceRows: reference1k.count, categorical: false)
        let method100k = DriftStatistics.defaultMethod(referenceRows: reference100k.count, categorical: false)
        let ks = Self.rate(minimum: 1) { DriftStatistics.kolmogorovSmirnov(reference1k, current).pValue }
        let wasserstein = Self.rate(minimum: 1) { DriftStatistics.wassersteinNormed(reference: reference100k, current: current) }
        var scipy: (ks: Double, wasserstein: Double)?
        if let python = CReference.which("python3"), let output = CReference.execute(python, ["-c", Self.scipyDrift]) {
            let numbers = output.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { Double($0) }
            if numbers.count == 2 { scipy = (numbers[0], numbers[1]) }
        }
        func ratio(_ ours: Double, _ theirs: Double?) -> String { theirs.map { String(format: "%.2f", ours / $0) } ?? "null" }
        if json {
            print("{\"reference_1000\":{\"method\":\"\(method1k.rawValue)\",\"tests_per_s\":\(ks.perSecond),\"scipy_tests_per_s\":\(scipy.map { "\($0.ks)" } ?? "null"),\"ratio_to_scipy\":\(ratio(ks.perSecond, scipy?.ks))},"
                + "\"reference_100000\":{\"method\":\"\(method100k.rawValue)\",\"tests_per_s\":\(wasserstein.perSecond),\"scipy_tests_per_s\":\(scipy.map { "\($0.wasserstein)" } ?? "null"),\"ratio_to_scipy\":\(ratio(wasserstein.perSecond, scipy?.wasserstein))},"
                + "\"current_rows\":\(current.count)}")
        } else {
            print("drift tests against a 1,000-row current window (one feature, numeric):")
            print("  1,000-row reference: \(method1k.rawValue) (exact p-value) \(Int(ks.perSecond)) tests/s" + (scipy.map { "; scipy ks_2samp \(Int($0.ks)) tests/s; ratio \(ratio(ks.perSecond, $0.ks))x" } ?? ""))
            print("  100,000-row reference: \(method100k.rawValue) (normed) \(Int(wasserstein.perSecond)) tests/s" + (scipy.map { "; scipy wasserstein_distance / np.std \(Int($0.wasserstein)) tests/s; ratio \(ratio(wasserstein.perSecond, $0.wasserstein))x" } ?? ""))
            if scipy == nil { print("  scipy not found (pip install scipy): no reference in this invocation") }
        }
    }
}
