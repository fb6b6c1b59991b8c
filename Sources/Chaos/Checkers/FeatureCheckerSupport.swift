import SimKernel
import SimServices

/// What the feature-store, drift and pipeline checkers share: the scenario's feature workload,
/// and a cursor over an observation list (each check looks only at what is new since the last).
extension Scenario {
    var featureDrift: FeatureDriftWorkload? { workloads.compactMap { $0 as? FeatureDriftWorkload }.first }
}

/// Why a feature checker cannot fire in a scenario without the feature workload.
func featureWorkloadMissing(_ scenario: Scenario) -> String? {
    scenario.featureDrift == nil ? "no feature_drift workload runs in this scenario" : nil
}

/// A base for safety checkers over `simulation.features`: it installs itself and skips the work
/// while the observations' revision stands still.
public class FeatureSafetyChecker: SafetyChecker {
    public var name: String { fatalError("subclasses name themselves") }
    var observations: FeatureObservations?
    var seenRevision = UInt64.max
    /// Change-driven (gated by the features' revision): see `SafetyChecker.runsOnChangesOnly`.
    public var runsOnChangesOnly: Bool { true }

    public func install(on platform: Platform) {
        observations = platform.simulation.features
        platform.simulation.add(checker: self)
    }

    public func check(_ simulation: Simulation) -> String? {
        guard let observations, observations.revision != seenRevision else { return nil }
        seenRevision = observations.revision
        return checkNew(observations, simulation)
    }

    /// Judges what is new in `observations`.
    func checkNew(_ observations: FeatureObservations, _ simulation: Simulation) -> String? { nil }
}
