import SimKernel
import SimServices

/// A comparison reads an experiment in a fixed number of statements (3: the runs, their points,
/// their parameters), however many runs it compares; E6's one query per run (1 + 2N) shows as soon
/// as two runs are compared.
public final class ComparisonQueriesChecker: SafetyChecker, Checker {
    public static let name = "comparison-queries"
    public var name: String { Self.name }
    /// Reads only observations and node state: see `SafetyChecker.runsOnChangesOnly`.
    public var runsOnChangesOnly: Bool { true }
    public static func whyItCannotFire(in scenario: Scenario) -> String? { trainingRunsMissing(scenario) }
    var observations: ExperimentsObservations?
    var checked = 0
    public required init(scenario: Scenario) {}

    public func install(on platform: Platform) {
        observations = platform.simulation.experiments
        platform.simulation.add(checker: self)
    }

    public func check(_ simulation: Simulation) -> String? {
        guard let observations else { return nil }
        while checked < observations.comparisons.count {
            let comparison = observations.comparisons[checked]
            checked += 1
            if comparison.statements > 3 {
                return "comparing the \(comparison.runs) runs of \(comparison.experiment) took \(comparison.statements) SQL statements: queries grow with the runs (N+1)"
            }
        }
        return nil
    }

    public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { ["experiments", "experiments-db"] }
}
