import SimKernel
import SimServices

/// No run names a parent that does not exist: after forks of the scratch runs raced their
/// deletion, every listed run's parent is itself listed (E4 writes a fork of a run deleted between
/// its two transactions).
public final class RunLineageChecker: TrainingRunsChecker, SafetyChecker, Checker {
    public static let name = "run-lineage"
    public var name: String { Self.name }
    var done = false
    public func check(_ simulation: Simulation) -> String? {
        guard !done, let observations, let lineage = observations.lineage else { return nil }
        done = true
        let runs = Set(lineage.map(\.run))
        for entry in lineage where entry.parent != 0 && !runs.contains(entry.parent) {
            return "run \(entry.run) is a fork of run \(entry.parent), which no longer exists (a dangling parent)"
        }
        return nil
    }

    override public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { ["experiments"] }
}
