import SimKernel
import SimServices

/// Point-in-time joins: every joined row really happened in [t - ttl, t] (its producer's true UTC
/// event time, not the time the store wrote down): nothing from the future of the join's instant
/// leaks into a training set.
public final class PointInTimeChecker: FeatureSafetyChecker, Checker {
    public static let name = "point-in-time"
    public override var name: String { Self.name }
    public static func whyItCannotFire(in scenario: Scenario) -> String? { featureWorkloadMissing(scenario) }
    var checked = 0
    public required init(scenario: Scenario) {}

    override func checkNew(_ observations: FeatureObservations, _ simulation: Simulation) -> String? {
        while checked < observations.joins.count {
            let join = observations.joins[checked]
            checked += 1
            guard let source = join.sourceID else { continue }
            guard let produced = observations.producedRows[source] else { return "a join of \(join.view)/\(join.entity) returned row \(source), which no producer sent" }
            if produced.entity != join.entity || produced.view != join.view {
                return "a join of \(join.view)/\(join.entity) returned row \(source) of \(produced.view)/\(produced.entity)"
            }
            if produced.eventTime > join.asOf {
                return "the point-in-time join of \(join.view)/\(join.entity) as of \(formatNanoseconds(join.asOf)) returned row \(source), which happened at \(formatNanoseconds(produced.eventTime)), \(formatNanoseconds(produced.eventTime - join.asOf)) later (stored as \(join.storedEventTime.map(formatNanoseconds) ?? "?"))"
            }
            if produced.eventTime < join.asOf - join.ttl {
                return "the point-in-time join of \(join.view)/\(join.entity) as of \(formatNanoseconds(join.asOf)) returned row \(source) from \(formatNanoseconds(produced.eventTime)), older than the view's TTL"
            }
        }
        return nil
    }

    public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { ["features"] }
}
