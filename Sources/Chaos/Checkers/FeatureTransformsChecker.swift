import SimKernel
import SimServices

/// Feature transformations: every transformation value served online equals the transformation of
/// the raw values served with it, computed in dependency order (an input computed later than the
/// transformation that reads it shows as a missing or different value).
public final class FeatureTransformsChecker: FeatureSafetyChecker, Checker {
    public static let name = "feature-transforms"
    public override var name: String { Self.name }
    public static func whyItCannotFire(in scenario: Scenario) -> String? { featureWorkloadMissing(scenario) }
    var checked = 0
    let views = FeatureDriftWorkload.viewsByName
    public required init(scenario: Scenario) {}

    override func checkNew(_ observations: FeatureObservations, _ simulation: Simulation) -> String? {
        while checked < observations.onlineReads.count {
            let read = observations.onlineReads[checked]
            checked += 1
            guard read.version != nil, let view = views[read.view], !view.transforms.isEmpty, let order = view.transformOrder() else { continue }
            var raw: [String: Double] = [:]
            for (name, value) in read.values where view.features.contains(name) { raw[name] = Double(value) }
            let expected = FeatureView.computeTransforms(raw, order: order)
            for transform in view.transforms {
                let served = read.values.first { $0.0 == transform.name }?.1 ?? ""
                let want = expected[transform.name].map { "\($0)" } ?? ""
                if served != want {
                    return "features served \(read.view)/\(read.entity) with \(transform.text) = '\(served)', but its inputs give '\(want)' (inputs: \(transform.inputs.map { name in "\(name)=\(read.values.first { $0.0 == name }?.1 ?? "missing")" }.joined(separator: ", ")))"
                }
            }
        }
        return nil
    }

    public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { ["features"] }
}
