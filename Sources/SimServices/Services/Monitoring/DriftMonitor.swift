import SimKernel

/// Drift checks of a feature view, as Evidently runs them: each feature's current window against
/// the view's reference window with the test its size and kind call for (reference <= 1,000 rows:
/// KS for numbers, chi-squared for categories, drift when p <= 0.05; larger: normed Wasserstein /
/// Jensen-Shannon, drift when the distance >= 0.1), thresholds compared as exact decimals.
/// p-values are Bonferroni-corrected over the view's tests (its features are correlated copies of
/// few causes, and testing m of them at 0.05 each would alarm m times as often), and the view
/// alerts as one group when at least half its features drift (Evidently's dataset-drift share):
/// one legitimate cohort shift is one alert, not one per feature.
///
/// M4 counts correlated copies as independent: no correction, and any drifted feature alerts on
/// its own. C3 compares every score as a distance with a float `>` (a p-value of 0.9 "drifts").
public enum DriftMonitor {
    public static let pValueThreshold = DecimalThreshold("0.05")!
    public static let distanceThreshold = DecimalThreshold("0.1")!
    public static let datasetShare = DecimalThreshold("0.5")!

    /// One feature's test.
    public struct FeatureVerdict: Sendable, Equatable {
        public var feature: String
        public var method: DriftStatistics.Method
        public var score: Double
        public var threshold: DecimalThreshold
        /// What the threshold is divided by (Bonferroni: the number of p-value tests; 1 otherwise).
        public var divisor: Int
        public var drift: Bool
    }

    /// What a check concluded: every feature's verdict and the alerts it raises, each a group
    /// name (the view, or with M4 a feature) with the features that drifted in it.
    public struct Judgement: Sendable, Equatable {
        public var verdicts: [FeatureVerdict]
        public var alerts: [(group: String, features: [String])]
        public static func == (a: Judgement, b: Judgement) -> Bool {
            a.verdicts == b.verdicts && a.alerts.elementsEqual(b.alerts, by: { $0.group == $1.group && $0.features == $1.features })
        }
    }

    /// The correct verdict of a score: p-values drift when p <= threshold / divisor, distances when
    /// d >= threshold, both decided exactly.
    public static func verdict(method: DriftStatistics.Method, score: Double, threshold: DecimalThreshold, divisor: Int) -> Bool {
        DriftStatistics.isPValue(method) ? threshold.isAtMost(score, dividedBy: divisor) : threshold.isAtLeast(score)
    }

    /// Judges `current` against `reference` (rows of the view's raw values, in feature order). A
    /// pure function of its input.
    public static func judge(_ view: FeatureView, reference: [[String]], current: [[String]], defects: DefectSet = .empty) -> Judgement {
        var scored: [(String, DriftStatistics.Method, Double)] = []
        for (index, feature) in view.features.enumerated() {
            let categorical = view.categorical.contains(feature)
            let method = DriftStatistics.defaultMethod(referenceRows: reference.count, categorical: categorical)
            let ref = reference.compactMap { index < $0.count ? $0[index] : nil }, cur = current.compactMap { index < $0.count ? $0[index] : nil }
            let score: Double
            switch method {
            case .kolmogorovSmirnov: score = DriftStatistics.kolmogorovSmirnov(ref.compactMap(Double.init), cur.compactMap(Double.init)).pValue
            case .chiSquared: score = DriftStatistics.chiSquared(reference: ref, current: cur).pValue
            case .wasserstein: score = DriftStatistics.wassersteinNormed(reference: ref.compactMap(Double.init), current: cur.compactMap(Double.init))
            case .jensenShannon: score = DriftStatistics.jensenShannon(reference: ref, current: cur)
            case .psi: score = DriftStatistics.psi(reference: ref.compactMap(Double.init), current: cur.compactMap(Double.init))
            }
            scored.append((feature, method, score))
        }
        let pTests = scored.filter { DriftStatistics.isPValue($0.1) }.count
        let verdicts = scored.map { feature, method, score -> FeatureVerdict in
            let threshold = DriftStatistics.isPValue(method) ? pValueThreshold : distanceThreshold
            let divisor = DriftStatistics.isPValue(method) && !defects.contains(.M4) ? Swift.max(1, pTests) : 1
            let drift = defects.contains(.C3)
                ? score > threshold.approximateValue / Double(divisor)  // C3: every score read as a distance, with a float `>`
                : verdict(method: method, score: score, threshold: threshold, divisor: divisor)
            return FeatureVerdict(feature: feature, method: method, score: score, threshold: threshold, divisor: divisor, drift: drift)
        }
        let drifted = verdicts.filter(\.drift).map(\.feature)
        let alerts: [(group: String, features: [String])]
        if defects.contains(.M4) {
            alerts = drifted.map { (group: $0, features: [$0]) }  // any of m, each on its own
        } else {
            alerts = DriftStatistics.datasetDrift(drifted: drifted.count, of: verdicts.count, share: datasetShare) ? [(group: view.name, features: drifted)] : []
        }
        return Judgement(verdicts: verdicts, alerts: alerts)
    }
}
