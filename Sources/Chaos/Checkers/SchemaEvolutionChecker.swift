import SimKernel
import SimServices

/// Schema evolution keeps old and new readers working: no join fails because a row was written
/// under another schema version, and every row joined for a reader of version v carries, for each
/// feature of v, the value its producer sent under that name (empty when the row's version has no
/// such feature). C6 decodes rows positionally, and an old reader fails on a new row.
public final class SchemaEvolutionChecker: FeatureSafetyChecker, Checker {
    public static let name = "schema-evolution"
    public override var name: String { Self.name }
    public static func whyItCannotFire(in scenario: Scenario) -> String? { featureWorkloadMissing(scenario) }
    var checked = 0
    public required init(scenario: Scenario) {}

    override func checkNew(_ observations: FeatureObservations, _ simulation: Simulation) -> String? {
        if let failure = observations.joinFailures.first {
            return "features failed a point-in-time join at \(formatNanoseconds(failure.at)): \(failure.message)"
        }
        while checked < observations.joins.count {
            let join = observations.joins[checked]
            checked += 1
            guard join.view == FeatureDriftWorkload.profile.name, let version = join.version, let features = FeatureDriftWorkload.profileVersions[version],
                  let source = join.sourceID, let produced = observations.producedNamed[source] else { continue }
            let expected = features.map { ($0, produced[$0] ?? "") }
            if !join.values.elementsEqual(expected, by: { $0 == $1 }) {
                func text(_ pairs: [(String, String)]) -> String { pairs.map { "\($0.0)=\($0.1)" }.joined(separator: ";") }
                return "features served \(join.view)/\(join.entity) to a v\(version) reader as \(text(join.values)), but row \(source) says \(text(expected))"
            }
        }
        return nil
    }

    public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { ["features"] }
}
