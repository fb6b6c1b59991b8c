import SimKernel
import SimServices

/// What every scenario-07 checker shares: the elastic job's observations, installed as a safety
/// checker that only looks again when they changed, and the nodes its message names.
public class ElasticChecker {
    var observations: ElasticTrainingObservations?
    let job: ElasticJobConfiguration
    private var seenRevision = -1

    public required init(scenario: Scenario) { job = scenario.elasticJob ?? ElasticJobConfiguration() }

    public static func whyItCannotFire(in scenario: Scenario) -> String? { elasticTrainingMissing(scenario) }

    public func install(on platform: Platform) {
        observations = platform.simulation.elasticTraining
        guard let safety = self as? SafetyChecker else { return }
        platform.simulation.add(checker: safety)
    }

    /// The observations when they changed since the last look, else nil.
    func changedObservations() -> ElasticTrainingObservations? {
        guard let observations, observations.revision != seenRevision else { return nil }
        seenRevision = observations.revision
        return observations
    }

    public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] {
        let named = nodesMentioned(in: outcome.message, simulation)
        return named.isEmpty ? ["consul", "minio"] : named
    }
}
