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
        let generation = observations.claims.last.map { "generation \($0.generation)" } ?? "no generation"
        return "the elastic job did not complete its \(job.steps) steps: last step reduced \(last.map { "\($0.step + 1) (generation \($0.generation))" } ?? "none"), \(generation), \(observations.resumes.count) restarts"
    }
}
