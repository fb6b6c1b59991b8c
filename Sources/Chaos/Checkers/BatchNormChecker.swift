import SimKernel
import SimServices

/// Evaluation is a pure function of the model and the row: evaluating leaves the parameters and
/// the batch-norm running statistics bit for bit as they were, and the first validation row scored
/// alone gets exactly the probability it gets within the whole validation set (M3 normalises with
/// the batch's statistics and moves the running ones).
public final class BatchNormChecker: TrainingRunsChecker, SafetyChecker, Checker {
    public static let name = "batch-norm"
    public var name: String { Self.name }
    var checked = 0
    public func check(_ simulation: Simulation) -> String? {
        guard let observations else { return nil }
        while checked < observations.evaluations.count {
            let seen = observations.evaluations[checked]
            checked += 1
            let evaluation = seen.evaluation
            if !evaluation.modelUnchanged {
                return "\(seen.name) (attempt \(seen.attempt)): evaluating after epoch \(evaluation.epoch) changed the model (batch-norm running statistics moved in eval mode)"
            }
            if evaluation.alone.bitPattern != evaluation.inBatch.bitPattern {  // bits: NaN is not a difference
                return "\(seen.name) (attempt \(seen.attempt)): after epoch \(evaluation.epoch) a validation row scores \(evaluation.alone) alone and \(evaluation.inBatch) among its batch: eval depends on batch neighbours"
            }
        }
        return nil
    }

    override public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { ["workers"] }
}
