import SimKernel
import SimServices

/// Drift verdicts: each stored feature verdict is the exact comparison of its own score with its
/// threshold (p-values drift when p <= threshold / divisor, distances when d >= threshold, decided
/// on the decimal's exact value): a pure function of the score, never flipped by float rounding
/// at the threshold, never a p-value read as a distance.
public final class DriftVerdictChecker: FeatureSafetyChecker, Checker {
    public static let name = "drift-verdict"
    public override var name: String { Self.name }
    public static func whyItCannotFire(in scenario: Scenario) -> String? { featureWorkloadMissing(scenario) }
    var checked = 0
    public required init(scenario: Scenario) {}

    override func checkNew(_ observations: FeatureObservations, _ simulation: Simulation) -> String? {
        while checked < observations.driftVerdicts.count {
            let (view, window, verdict) = observations.driftVerdicts[checked]
            checked += 1
            let expected = DriftMonitor.verdict(method: verdict.method, score: verdict.score, threshold: verdict.threshold, divisor: verdict.divisor)
            if expected != verdict.drift {
                let rule = DriftStatistics.isPValue(verdict.method) ? "p <= \(verdict.threshold)\(verdict.divisor > 1 ? "/\(verdict.divisor)" : "")" : "distance >= \(verdict.threshold)"
                return "monitoring stored drift=\(verdict.drift) for \(view).\(verdict.feature) in window \(window): \(verdict.method.rawValue) score \(verdict.score), but \(rule) says \(expected)"
            }
        }
        return nil
    }

    public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { ["monitoring"] }
}
