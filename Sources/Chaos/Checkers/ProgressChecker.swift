import SimKernel
import SimServices

/// Progress (liveness): by heal + converge_within_s the training job has completed (evaluated,
/// recorded in experiments, registered in the registry), its held-out loss is below 90 % of the
/// initial loss and its accuracy reaches `min_accuracy`.
public final class ProgressChecker: Checker {
    public static let name = "progress"
    public static func whyItCannotFire(in scenario: Scenario) -> String? {
        scenario.trainingJob == nil ? "no training job in this scenario" : nil
    }
    let minAccuracy: Double
    let steps: Int
    let convergeWithin: Int64
    public init(scenario: Scenario) {
        minAccuracy = scenario.minAccuracy
        steps = scenario.platform.job.steps
        convergeWithin = scenario.convergeWithinSeconds
    }
    public func install(on platform: Platform) {}

    public func converged(_ simulation: Simulation) -> Bool? {
        let o = simulation.training
        guard o.jobCompleted, let loss = o.finalLoss, let initial = o.initialLoss, let accuracy = o.finalAccuracy else { return false }
        return loss < initial * 0.9 && accuracy >= minAccuracy
    }

    public func livenessMessage(_ simulation: Simulation) -> String {
        let o = simulation.training
        if !o.jobCompleted {
            let clocks = o.workerClocks
            if !clocks.isEmpty && clocks.allSatisfy({ $0 >= steps }) {
                return "the job did not complete within \(convergeWithin) s after faults healed: every trainer finished its \(steps) steps, but the training service never completed the job (evaluated, recorded in experiments, registered)"
            }
            let frozen = clocks.allSatisfy { $0 == clocks.first } && (clocks.first ?? 0) > 0
            return "the job did not complete within \(convergeWithin) s after faults healed: worker clocks \(clocks) of \(steps)"
                + (frozen ? " (every worker frozen at clock \(clocks[0]))" : "")
        }
        return "the job completed but did not learn: accuracy \(o.finalAccuracy ?? 0) (need \(minAccuracy)), loss \(o.finalLoss ?? 0) vs initial \(o.initialLoss ?? 0)"
    }

    public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] {
        ["training", "scheduler"] + simulation.training.workerClocks.indices.map { "worker-\($0)" }
    }
}
