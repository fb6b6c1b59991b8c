import SimKernel
import SimServices

/// Same (seed, code version, dataset digest, hyperparameters) -> the same parameter hash at every
/// step: every step any worker attempt computed is compared with the first hash seen for that step
/// among runs submitted with the same job (its spec but for the run's name and id). A run on a dataset digest that was never stored, and a run name submitted again with another job, must be refused.
/// Liveness: every submitted run finished and was read back, and the client finished its
/// comparison, searches and scratch runs.
public final class ReproducibilityChecker: TrainingRunsChecker, SafetyChecker, Checker {
    public static let name = "reproducibility"
    public var name: String { Self.name }
    var seenRevision: UInt64 = .max
    var checkedSteps = 0
    /// The first hash of each (seed, code, dataset, step): by whom it was computed.
    var first: [String: (name: String, attempt: Int, hash: String)] = [:]
    public func check(_ simulation: Simulation) -> String? {
        guard let observations, observations.revision != seenRevision else { return nil }
        seenRevision = observations.revision
        for refused in observations.mustBeRefused where observations.refused.contains(where: { $0.name == refused && $0.status == 200 }) {
            return "training accepted \(refused), which it must refuse (a dataset digest never stored, or a run name taken by another job)"
        }
        while checkedSteps < observations.steps.count {
            let step = observations.steps[checkedSteps]
            guard let run = observations.submittedRun(named: step.name) else { break }  // its submission is recorded once answered
            checkedSteps += 1
            var job = run.spec
            job.name = ""
            job.run = 0
            let key = "\(TrainingRuns.encode(job))/\(step.record.step)"
            guard let earlier = first[key] else {
                first[key] = (step.name, step.attempt, step.record.stateHash)
                continue
            }
            if earlier.hash != step.record.stateHash {
                return "\(step.name) (attempt \(step.attempt)) has state hash \(step.record.stateHash.prefix(16)) after step \(step.record.step) (epoch \(step.record.epoch)), "
                    + "\(earlier.name) (attempt \(earlier.attempt)) had \(earlier.hash.prefix(16)): same seed \(run.seed), code \(run.code), data \(run.dataset.prefix(12)); not reproducible"
            }
        }
        return nil
    }

    public func converged(_ simulation: Simulation) -> Bool? {
        guard let observations else { return nil }
        return !observations.submitted.isEmpty && observations.readBacks.count >= observations.submitted.count && observations.clientFinishedAt != nil
    }

    public func livenessMessage(_ simulation: Simulation) -> String {
        guard let observations else { return "" }
        let finished = observations.finished.map(\.name)
        let open = observations.submitted.map(\.name).filter { !finished.contains($0) }
        return "\(observations.submitted.count) runs submitted, \(observations.finished.count) finished, \(observations.readBacks.count) read back, client \(observations.clientFinishedAt == nil ? "not finished" : "finished"); unfinished: \(open.joined(separator: ", "))"
    }

    override public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { ["training", "workers", "experiments"] }
}

func trainingRunsMissing(_ scenario: Scenario) -> String? {
    scenario.workloads.contains { $0 is TrainingRunsWorkload } ? nil : "no training_runs workload runs in this scenario"
}
