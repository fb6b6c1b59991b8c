import SimKernel
import SimServices

/// Online and offline agree: every value the online store serves is, feature by feature, the
/// value of an offline row the producers sent for that entity at that event time.
public final class OnlineOfflineChecker: FeatureSafetyChecker, Checker {
    public static let name = "online-offline"
    public override var name: String { Self.name }
    public static func whyItCannotFire(in scenario: Scenario) -> String? { featureWorkloadMissing(scenario) }
    var checked = 0
    let views = FeatureDriftWorkload.viewsByName
    public required init(scenario: Scenario) {}

    override func checkNew(_ observations: FeatureObservations, _ simulation: Simulation) -> String? {
        while checked < observations.onlineReads.count {
            let read = observations.onlineReads[checked]
            checked += 1
            guard let eventTime = read.eventTime, let view = views[read.view],
                  let candidates = observations.producedValues["\(read.view)/\(read.entity)/\(eventTime)"] else { continue }
            let served = view.features.map { name in read.values.first { $0.0 == name }?.1 ?? "" }
            if !candidates.contains(served) {
                let offline = candidates[0]
                let index = served.indices.first { $0 < offline.count && served[$0] != offline[$0] } ?? 0
                return "features served \(read.view)/\(read.entity) (event time \(formatNanoseconds(eventTime))) with \(view.features[index]) = \(served[index]), but the offline row says \(offline[index])"
            }
        }
        return nil
    }

    public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { ["features", "redis"] }
}
