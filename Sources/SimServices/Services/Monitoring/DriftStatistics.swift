// Drift statistics as Evidently (legacy stattests, 0.7.x) computes them on top of scipy 1.17.
//
// Why reimplement instead of approximating: the simulator's drift verdicts must be the ones an
// Evidently report would give on the same data, and must be bit-for-bit deterministic. So every
// routine follows the Python code path (same binning, same epsilon, same scipy method choice)
// and every threshold decision goes through DecimalThreshold's exact comparison.
//
// Input conventions shared by every function:
// - Non-finite numeric values (NaN, +inf, -inf) are dropped first, as Evidently's
//   get_one_column_drift does before any stattest. Hence no statistic here is ever NaN.
// - A sample that is empty (after dropping) carries no evidence: tests return
//   `TestResult(statistic: 0, pValue: 1)` and distances return 0. Evidently raises instead;
//   callers that must flag missing data check sample sizes themselves.
// - Category keys are sorted before use, so results never depend on hashing order.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Statistical tests and distances for data-drift detection, matching Evidently + scipy.
public enum DriftStatistics {
    /// A test statistic together with its p-value.
    public struct TestResult: Sendable, Equatable {
        /// The test statistic (KS: D; chi-squared: Pearson's X^2).
        public var statistic: Double
        /// The p-value in [0, 1].
        public var pValue: Double

        /// Creates a result from a statistic and a p-value.
        public init(statistic: Double, pValue: Double) {
            self.statistic = statistic
            self.pValue = pValue
        }
    }

    /// How the two-sample KS p-value is computed (scipy's `method` argument of `ks_2samp`).
    public enum KSMethod: Sendable {
        /// scipy's "auto": exact when max(n1, n2) <= 10000, else asymptotic.
        case auto
        /// scipy's "exact"; falls back to asymptotic when lcm(n1, n2) would overflow int32 or
        /// the exact computation fails, as scipy does.
        case exact
        /// scipy's "asymp": `kstwo.sf(D, round(n1*n2/(n1+n2)))`.
        case asymptotic
    }

    private static func finite(_ a: [Double]) -> [Double] { a.filter { $0.isFinite } }

    /// Number of elements of the sorted array `s` that are `<= v` (numpy searchsorted 'right').
    private static func countAtMost(_ s: [Double], _ v: Double) -> Int {
        var lo = 0, hi = s.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if s[mid] <= v { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// Number of elements of the sorted array `s` that are `< v` (numpy searchsorted 'left').
    private static func countBelow(_ s: [Double], _ v: Double) -> Int {
        var lo = 0, hi = s.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if s[mid] < v { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    // MARK: Kolmogorov-Smirnov

    /// Two-sample Kolmogorov-Smirnov test, two-sided, as `scipy.stats.ks_2samp(a, b)` (method
    /// "auto"): exact p-value when max(n1, n2) <= 10000, asymptotic otherwise.
    public static func kolmogorovSmirnov(_ a: [Double], _ b: [Double]) -> TestResult {
        kolmogorovSmirnov(a, b, method: .auto)
    }

    /// Two-sample Kolmogorov-Smirnov test, two-sided, as `scipy.stats.ks_2samp(a, b, method:)`.
    ///
    /// Statistic: D = max |F_a - F_b| over the pooled sample (ECDFs via counts/n, as scipy).
    /// Exact path: D is rounded to h/lcm(n1, n2) (scipy reports that rounded D) and the
    /// p-value is the lattice-path probability (Hodges; n1 == n2 closed form). Asymptotic path:
    /// `kstwo.sf(D, round(n1*n2/(n1+n2)))`, the exact one-sample distribution evaluated by
    /// scipy's Simard-L'Ecuyer method choice. One deviation: for n1 == n2 == 1 with
    /// `.asymptotic`, scipy rounds 0.5 to n = 0 and returns NaN; here n is raised to 1.
    public static func kolmogorovSmirnov(_ a: [Double], _ b: [Double], method: KSMethod) -> TestResult {
        let x = finite(a).sorted(), y = finite(b).sorted()
        let n1 = x.count, n2 = y.count
        guard n1 > 0, n2 > 0 else { return TestResult(statistic: 0, pValue: 1) }
        var maxDiff = -Double.infinity, minDiff = Double.infinity
        for v in x + y {
            let diff = Double(countAtMost(x, v)) / Double(n1) - Double(countAtMost(y, v)) / Double(n2)
            maxDiff = max(maxDiff, diff)
            minDiff = min(minDiff, diff)
        }
        let minS = min(max(-minDiff, 0), 1)
        var d = minS > maxDiff ? minS : maxDiff
        let g = gcd(n1, n2)
        var exact: Bool
        switch method {
        case .auto: exact = max(n1, n2) <= 10_000
        case .exact: exact = !(Double(n1 / g) >= Double(Int32.max) / Double(n2 / g))
        case .asymptotic: exact = false
        }
        var prob = -Double.infinity
        if exact {
            // _attempt_exact_2kssamp: D is snapped to the lattice h/lcm even if we fall back.
            let lcm = (n1 / g) * n2
            let h = Int((d * Double(lcm)).rounded(.toNearestOrEven))
            d = Double(h) / Double(lcm)
            if h == 0 {
                prob = 1
            } else {
                prob = n1 == n2
                    ? DriftDistributions.probOutsideSquare(n: n1, h: h)
                    : DriftDistributions.outerProbInside(n1, n2, g: g, h: h)
                if !(prob >= 0 && prob <= 1) { exact = false }  // scipy falls back to asymptotic
            }
        }
        if !exact {
            let (m, n) = (Double(max(n1, n2)), Double(min(n1, n2)))
            let en = max((m * n / (m + n)).rounded(.toNearestOrEven), 1)
            prob = DriftDistributions.kstwoSF(d, n: Int(en))
        }
        return TestResult(statistic: d, pValue: DriftDistributions.clip01(prob))
    }

    private static func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }

    // MARK: Chi-squared

    /// Sorted union of categories and each sample's counts over it.
    private static func categoryCounts<T: Hashable & Comparable>(_ r: [T], _ c: [T]) -> (keys: [T], ref: [Int], cur: [Int]) {
        var rc: [T: Int] = [:], cc: [T: Int] = [:]
        for v in r { rc[v, default: 0] += 1 }
        for v in c { cc[v, default: 0] += 1 }
        let keys = Set(rc.keys).union(cc.keys).sorted()
        return (keys, keys.map { rc[$0] ?? 0 }, keys.map { cc[$0] ?? 0 })
    }

    /// Chi-squared goodness of fit of `current` against `reference`'s proportions, as Evidently's
    /// `chisquare` stattest: categories = union of both; expected = reference count *
    /// (n_current / n_reference); `scipy.stats.chisquare(f_obs, f_exp)`; p-value = chi2 survival
    /// function with (categories - 1) degrees of freedom.
    ///
    /// A category seen only in `current` has expected count 0: the statistic is +inf and the
    /// p-value 0, as in scipy. With a single category (0 degrees of freedom) scipy returns a NaN
    /// p-value; here the p-value is 1 (no evidence of drift). Note Evidently flags chi-squared drift
    /// on `p < threshold` (strict) while its KS uses `p <= threshold`; with exact decimal
    /// thresholds the two differ only when p equals the decimal exactly.
    public static func chiSquared(reference: [String], current: [String]) -> TestResult {
        guard !reference.isEmpty, !current.isEmpty else { return TestResult(statistic: 0, pValue: 1) }
        let (keys, ref, cur) = categoryCounts(reference, current)
        let kNorm = Double(current.count) / Double(reference.count)
        let terms = keys.indices.map { i -> Double in
            let expected = Double(ref[i]) * kNorm, diff = Double(cur[i]) - expected
            return diff * diff / expected
        }
        let stat = DriftDistributions.pairwiseSum(terms)
        guard keys.count >= 2 else { return TestResult(statistic: stat, pValue: 1) }
        return TestResult(statistic: stat, pValue: DriftDistributions.chiSquaredSF(df: keys.count - 1, stat))
    }

    // MARK: Wasserstein

    /// Evidently's normed Wasserstein distance: `scipy.stats.wasserstein_distance(ref, cur)`
    /// divided by `max(np.std(ref), 0.001)` (population std, ddof 0). The 0.001 floor is
    /// Evidently's: a constant reference is not a division by zero, the distance is scaled by 1000.
    public static func wassersteinNormed(reference: [Double], current: [Double]) -> Double {
        let u = finite(reference).sorted(), v = finite(current).sorted()
        guard !u.isEmpty, !v.isEmpty else { return 0 }
        let all = (u + v).sorted()
        var products = [Double]()
        products.reserveCapacity(all.count)
        for i in 0..<(all.count - 1) {
            let uCdf = Double(countAtMost(u, all[i])) / Double(u.count)
            let vCdf = Double(countAtMost(v, all[i])) / Double(v.count)
            products.append(abs(uCdf - vCdf) * (all[i + 1] - all[i]))
        }
        let distance = DriftDistributions.pairwiseSum(products)
        // pandas' Series.std(ddof=0): mean by pairwise sum, then mean of squared deviations.
        let mean = DriftDistributions.pairwiseSum(u) / Double(u.count)
        let variance = DriftDistributions.pairwiseSum(u.map { ($0 - mean) * ($0 - mean) }) / Double(u.count)
        return distance / max(variance.squareRoot(), 0.001)
    }

    // MARK: Binned proportions (Evidently's get_binned_data)

    /// Evidently's `get_binned_data` for numeric data: with more than 20 distinct reference values,
    /// `np.histogram_bin_edges(reference + current, bins="sturges")` (equal-width bins over the
    /// pooled range, count = ceil(range / (range / (log2(N) + 1))), N = pooled size; last bin
    /// closed) and each sample's share per bin; otherwise each distinct value is a category.
    private static func binnedShares(_ reference: [Double], _ current: [Double]) -> ([Double], [Double]) {
        guard Set(reference).count > 20 else {
            let (_, r, c) = categoryCounts(reference, current)
            return (r.map { Double($0) / Double(reference.count) }, c.map { Double($0) / Double(current.count) })
        }
        let combined = reference + current
        let lo = combined.min()!, hi = combined.max()!
        let width = (hi - lo) / (log2(Double(combined.count)) + 1.0)
        let bins = width != 0 ? Int(((hi - lo) / width).rounded(.up)) : 1
        let step = (hi - lo) / Double(bins)  // np.linspace: i * step + start, last edge = stop
        let edges = (0...bins).map { $0 == bins ? hi : Double($0) * step + lo }
        func shares(_ data: [Double]) -> [Double] {
            let s = data.sorted()
            return (0..<bins).map { i in
                let upper = i == bins - 1 ? countAtMost(s, edges[i + 1]) : countBelow(s, edges[i + 1])
                return Double(upper - countBelow(s, edges[i])) / Double(data.count)
            }
        }
        return (shares(reference), shares(current))
    }

    /// Evidently's smoothing of empty bins (`feel_zeroes`): zeros become min(non-zero share)/1e6
    /// when that minimum is <= 0.0001, else 0.0001.
    private static func fillZeros(_ p: [Double]) -> [Double] {
        guard let m = p.filter({ $0 != 0 }).min() else { return p }
        let eps = m <= 0.0001 ? m / 1e6 : 0.0001
        return p.map { $0 == 0 ? eps : $0 }
    }

    // MARK: Jensen-Shannon

    /// `scipy.spatial.distance.jensenshannon(p, q)` with the natural log (Evidently passes base None).
    private static func jensenShannon(_ p0: [Double], _ q0: [Double]) -> Double {
        let ps = DriftDistributions.pairwiseSum(p0), qs = DriftDistributions.pairwiseSum(q0)
        let p = p0.map { $0 / ps }, q = q0.map { $0 / qs }
        let m = p.indices.map { (p[$0] + q[$0]) / 2.0 }
        func relEntr(_ x: Double, _ y: Double) -> Double {
            if x > 0 && y > 0 { return x * log(x / y) }
            return x == 0 && y >= 0 ? 0 : .infinity
        }
        let left = DriftDistributions.pairwiseSum(p.indices.map { relEntr(p[$0], m[$0]) })
        let right = DriftDistributions.pairwiseSum(q.indices.map { relEntr(q[$0], m[$0]) })
        return ((left + right) / 2.0).squareRoot()
    }

    /// Evidently's Jensen-Shannon distance for categorical data: `jensenshannon` over the two
    /// samples' category shares (sorted union of categories, no zero smoothing), natural log,
    /// so the value lies in [0, sqrt(ln 2)]. Empty samples give 0.
    public static func jensenShannon(reference: [String], current: [String]) -> Double {
        guard !reference.isEmpty, !current.isEmpty else { return 0 }
        let (_, r, c) = categoryCounts(reference, current)
        return jensenShannon(r.map { Double($0) / Double(reference.count) }, c.map { Double($0) / Double(current.count) })
    }

    /// Evidently's Jensen-Shannon distance for numeric data: shares from `get_binned_data`
    /// (Sturges bins when the reference has more than 20 distinct values, else per value),
    /// no zero smoothing. Evidently uses this for numeric columns with <= 5 distinct values.
    public static func jensenShannon(reference: [Double], current: [Double]) -> Double {
        let r = finite(reference), c = finite(current)
        guard !r.isEmpty, !c.isEmpty else { return 0 }
        let (rp, cp) = binnedShares(r, c)
        return jensenShannon(rp, cp)
    }

    // MARK: PSI

    private static func psi(shares: ([Double], [Double])) -> Double {
        let r = fillZeros(shares.0), c = fillZeros(shares.1)
        return DriftDistributions.pairwiseSum(r.indices.map { (r[$0] - c[$0]) * log(r[$0] / c[$0]) })
    }

    /// Population stability index as Evidently's `psi` stattest: sum over bins of
    /// (ref% - cur%) * ln(ref% / cur%). Bins: Sturges equal-width bins over the pooled range when
    /// the reference has more than 20 distinct values, otherwise one bin per distinct value.
    /// Empty bins are smoothed (per sample) to min(non-zero share)/1e6 if that minimum is <= 1e-4,
    /// else to 1e-4. Empty samples give 0.
    public static func psi(reference: [Double], current: [Double]) -> Double {
        let r = finite(reference), c = finite(current)
        guard !r.isEmpty, !c.isEmpty else { return 0 }
        return psi(shares: binnedShares(r, c))
    }

    /// Population stability index for categorical data (one bin per category, same smoothing).
    public static func psi(reference: [String], current: [String]) -> Double {
        guard !reference.isEmpty, !current.isEmpty else { return 0 }
        let (_, r, c) = categoryCounts(reference, current)
        return psi(shares: (r.map { Double($0) / Double(reference.count) }, c.map { Double($0) / Double(current.count) }))
    }

    // MARK: Multiple testing

    /// Bonferroni: reject hypothesis i (drift) iff p_i <= alpha / m exactly, m = number of
    /// p-values. NaN p-values count towards m and are never rejected.
    public static func bonferroni(_ pValues: [Double], alpha: DecimalThreshold) -> [Bool] {
        pValues.map { alpha.isAtMost($0, dividedBy: pValues.count) }
    }

    /// Benjamini-Hochberg step-up, as statsmodels' `multipletests(method="fdr_bh")`: sort the
    /// p-values, find the largest rank k with p_(k) <= k * alpha / m (decided exactly), reject the
    /// k smallest. Tied p-values are rejected together (equal p's pass or fail as a block, since
    /// the bound grows with k). NaN p-values count towards m, sort last and are never rejected.
    public static func benjaminiHochberg(_ pValues: [Double], alpha: DecimalThreshold) -> [Bool] {
        let m = pValues.count
        let order = pValues.indices.sorted { i, j in
            let (a, b) = (pValues[i], pValues[j])
            if a.isNaN != b.isNaN { return b.isNaN }
            return a == b || (a.isNaN && b.isNaN) ? i < j : a < b
        }
        var k = 0
        for rank in stride(from: m, through: 1, by: -1) where alpha.isAtMost(pValues[order[rank - 1]], times: rank, dividedBy: m) {
            k = rank
            break
        }
        var reject = [Bool](repeating: false, count: m)
        for r in 0..<k { reject[order[r]] = true }
        return reject
    }

    /// Evidently's dataset drift rule: drift iff drifted / total >= share, decided exactly with
    /// integers (drifted * 10^scale >= numerator * total). False when total < 1 (Evidently would
    /// divide by zero) or drifted < 0.
    public static func datasetDrift(drifted: Int, of total: Int, share: DecimalThreshold) -> Bool {
        share.isShareAtLeast(drifted, of: total)
    }

    // MARK: Method choice

    /// A drift method, named as in Evidently's stattest registry.
    public enum Method: String, Sendable {
        /// Two-sample Kolmogorov-Smirnov (p-value).
        case kolmogorovSmirnov = "ks"
        /// Chi-squared against the reference proportions (p-value).
        case chiSquared = "chisquare"
        /// Normed Wasserstein distance (distance).
        case wasserstein = "wasserstein"
        /// Jensen-Shannon distance (distance).
        case jensenShannon = "jensenshannon"
        /// Population stability index (distance-like score).
        case psi = "psi"
    }

    /// Evidently's default choice: reference <= 1000 rows -> KS (numeric) / chi-squared
    /// (categorical); larger -> normed Wasserstein (numeric) / Jensen-Shannon (categorical).
    /// Simplification: Evidently also looks at the number of distinct values (<= 2 -> proportion
    /// z-test, numeric <= 5 -> chi-squared / Jensen-Shannon); those refinements are not modelled.
    public static func defaultMethod(referenceRows: Int, categorical: Bool) -> Method {
        if referenceRows <= 1000 { return categorical ? .chiSquared : .kolmogorovSmirnov }
        return categorical ? .jensenShannon : .wasserstein
    }

    /// Whether a method's score is a p-value (drift when score <= threshold) rather than a
    /// distance (drift when score >= threshold).
    public static func isPValue(_ method: Method) -> Bool {
        method == .kolmogorovSmirnov || method == .chiSquared
    }

    /// Evidently's default threshold: 0.05 for p-value methods, 0.1 for distances.
    public static func defaultThreshold(for method: Method) -> DecimalThreshold {
        DecimalThreshold(isPValue(method) ? "0.05" : "0.1")!
    }

    /// The drift verdict for one score: p-value methods drift when score <= threshold, distances
    /// when score >= threshold, both decided exactly. A NaN score counts as drift, so a broken
    /// input is never reported as "no drift" silently.
    public static func isDrift(score: Double, method: Method, threshold: DecimalThreshold) -> Bool {
        if score.isNaN { return true }
        return isPValue(method) ? threshold.isAtMost(score) : threshold.isAtLeast(score)
    }
}
