import SimKernel
import SimServices

/// Drift alarms, as the subscriber receives them: (1) one alert at most per view and window (a
/// cohort shift moving five correlated features is one alert, not five); (2) on windows drawn
/// without drift, the share of (view, window) checks that alerted stays within alpha plus binomial
/// slack; (3) at the end, every shifted window monitoring checked early enough alerted (a monitor
/// that never alerts is no answer either).
///
/// The bound of (2): with n no-drift checks planned and a true alarm rate of at most alpha = 0.05
/// per check, the count of alarmed checks is at most Binomial(n, 0.05); the checker allows the
/// smallest k with P(X > k) <= 1e-6, so a correct monitor fails it less than once in a million
/// runs. (The correct monitor's rate is far below alpha: Bonferroni and the 50 % share rule.)
public final class DriftAlarmsChecker: FeatureSafetyChecker, Checker {
    public static let name = "drift-alarms"
    public override var name: String { Self.name }
    public static func whyItCannotFire(in scenario: Scenario) -> String? { featureWorkloadMissing(scenario) }
    static let alpha = 0.05
    let allowed: Int
    let plannedQuiet: Int
    let plannedChecks: Int
    var checked = 0
    var perWindow: [String: [String]] = [:]
    var quietAlarmed: Set<String> = []

    let healAt: Int64

    public required init(scenario: Scenario) {
        healAt = scenario.healAtSeconds * Nanos.second
        let workload = scenario.featureDrift ?? FeatureDriftWorkload()
        let checkedWindows = workload.referenceWindows ..< workload.windows
        // Two views a window; only the demographics shift.
        plannedChecks = 2 * checkedWindows.count
        plannedQuiet = checkedWindows.reduce(0) { $0 + (workload.isShifted($1) ? 1 : 2) }
        allowed = Self.binomialBound(n: plannedQuiet, p: Self.alpha, tail: 1e-6)
    }

    /// The smallest k with P(Binomial(n, p) > k) <= tail.
    static func binomialBound(n: Int, p: Double, tail: Double) -> Int {
        var probability = pow(1 - p, Double(n)), cumulative = probability
        var k = 0
        while 1 - cumulative > tail && k < n {
            probability *= Double(n - k) / Double(k + 1) * p / (1 - p)
            k += 1
            cumulative += probability
        }
        return k
    }

    override func checkNew(_ observations: FeatureObservations, _ simulation: Simulation) -> String? {
        while checked < observations.alerts.count {
            let alert = observations.alerts[checked]
            checked += 1
            let key = "\(alert.view)#\(alert.window)"
            perWindow[key, default: []].append(alert.group)
            if perWindow[key]!.count > 1 {
                return "\(alert.view) raised \(perWindow[key]!.count) alerts for window \(alert.window) (\(perWindow[key]!.joined(separator: ", "))): one shift of correlated features must be one alert"
            }
            if observations.shiftedWindows[alert.view]?[alert.window] == false {
                quietAlarmed.insert(key)
                if quietAlarmed.count > allowed {
                    return "\(quietAlarmed.count) of \(plannedQuiet) checks of windows without drift alerted, above the \(allowed) that alpha = 0.05 allows (binomial bound at 1e-6)"
                }
            }
        }
        return nil
    }

    public func finalViolation(_ simulation: Simulation) -> String? {
        let observations = simulation.features
        let alerted = Set(observations.alerts.map { "\($0.view)#\($0.window)" })
        // Checked after the heal and 30 s (the delivery's retry deadline) before the end: the
        // alert has had every chance to arrive.
        for check in observations.checkedWindows where check.at >= healAt && check.at <= simulation.now - 30 * Nanos.second
            && observations.shiftedWindows[check.view]?[check.window] == true && !alerted.contains("\(check.view)#\(check.window)") {
            return "window \(check.window) of \(check.view) was drawn from a shifted cohort and checked at \(formatNanoseconds(check.at)), but no alert reached the subscriber"
        }
        return nil
    }

    /// Liveness: every window after the reference has been checked, for both views.
    public func converged(_ simulation: Simulation) -> Bool? {
        let checks = simulation.features.checkedWindows
        if checks.count != countedChecks {
            countedChecks = checks.count
            distinctChecks = Set(checks.map { "\($0.view)#\($0.window)" }).count
        }
        return distinctChecks >= plannedChecks
    }
    var countedChecks = -1, distinctChecks = 0

    public func livenessMessage(_ simulation: Simulation) -> String {
        let done = Set(simulation.features.checkedWindows.map { "\($0.view)#\($0.window)" })
        return "monitoring checked \(done.count) of the \(plannedChecks) planned (view, window) pairs"
    }

    public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { ["monitoring", "webhooks"] }
}

#if canImport(Glibc)
import Glibc
#endif
