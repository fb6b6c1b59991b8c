import SimKernel
import SimServices

/// Cache stampede: an online key's read-through from the offline store never starts while another
/// for the same key is in flight (concurrent misses wait for the one load).
public final class CacheStampedeChecker: FeatureSafetyChecker, Checker {
    public static let name = "cache-stampede"
    public override var name: String { Self.name }
    public static func whyItCannotFire(in scenario: Scenario) -> String? { featureWorkloadMissing(scenario) }
    var checked = 0
    public required init(scenario: Scenario) {}

    override func checkNew(_ observations: FeatureObservations, _ simulation: Simulation) -> String? {
        while checked < observations.readThroughStarts.count {
            let start = observations.readThroughStarts[checked]
            checked += 1
            if start.concurrent > 1 {
                return "\(start.concurrent) offline reads of \(start.key) in flight at once at \(formatNanoseconds(start.at)): concurrent misses of one key must share one read"
            }
        }
        return nil
    }

    public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { ["features", "metrics-db"] }
}
