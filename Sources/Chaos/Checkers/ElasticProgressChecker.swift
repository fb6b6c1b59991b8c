import SimKernel
import SimServices

/// Liveness of the elastic job: after the faults heal it completes all its steps (every
/// membership change restarts it from a checkpoint, so it must get through).
public final class ElasticProgressChecker: ElasticChecker, Checker {
    public static let name = "elastic-progress"

    public func converged(_ simulation: Simulation) -> Bool? {
        guard let observations else { return false }
        return observations.completedAt != nil && observations.finalStep == job.steps
    }

    public func livenessMessage(_ simulation: Simulation) -> String {
        guard let observations else { return "no elastic job" }
        let last = observations.reductions.last { $0.reduced != nil }
        let newest = observations.claims.map(\.generation).max()
        let members = observations.claims.filter { $0.generation == newest && !$0.fromJoin }.sorted { $0.rank < $1.rank }.map(\.worker)
        let generation = newest.map { "generation \($0) trained by \(members.isEmpty ? "nobody yet" : members.joined(separator: ", "))" } ?? "no generation"
        return "the elastic job did not complete its \(job.steps) steps: last step reduced \(last.map { "\($0.step + 1) (generation \($0.generation))" } ?? "none"), newest \(generation), \(observations.resumes.filter { $0.step > 0 }.count) resumes from a checkpoint"
    }
}
