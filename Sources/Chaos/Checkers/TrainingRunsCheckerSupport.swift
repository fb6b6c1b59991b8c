import SimKernel
import SimServices

/// What the scenario-02 checkers written on it share: the runs' observations, installed as a
/// safety checker when the subclass is one, and `whyItCannotFire` without a training_runs workload.
public class TrainingRunsChecker {
    var observations: TrainingRunObservations?
    /// Change-driven (reads only the training runs' observations): see `SafetyChecker.runsOnChangesOnly`.
    public var runsOnChangesOnly: Bool { true }

    public required init(scenario: Scenario) {}

    public static func whyItCannotFire(in scenario: Scenario) -> String? { trainingRunsMissing(scenario) }

    public func install(on platform: Platform) {
        observations = platform.simulation.trainingRuns
        guard let safety = self as? SafetyChecker else { return }
        platform.simulation.add(checker: safety)
    }

    public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { ["experiments", "minio", "client"] }
}
