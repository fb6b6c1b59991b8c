import SimKernel
import SimServices

/// Mixed precision never poisons the model: a step whose fp16 gradient overflowed is skipped, the
/// step after a skipped one runs at half its scale, and after every step all parameters and running
/// statistics are finite (M8 applies the overflowed gradient and keeps the scale).
public final class MixedPrecisionChecker: TrainingRunsChecker, SafetyChecker, Checker {
    public static let name = "mixed-precision"
    public var name: String { Self.name }
    var checked = 0
    public func check(_ simulation: Simulation) -> String? {
        guard let observations else { return nil }
        while checked < observations.steps.count {
            let step = observations.steps[checked]
            checked += 1
            let record = step.record
            if record.overflowed && !record.skipped {
                return "\(step.name) (attempt \(step.attempt)) applied step \(record.step), whose fp16 gradient overflowed at loss scale \(record.scale), instead of skipping it"
            }
            if !record.finite {
                return "\(step.name) (attempt \(step.attempt)) has non-finite parameters after step \(record.step) (loss scale \(record.scale), step \(record.skipped ? "skipped" : "applied")): an overflowed fp16 gradient was applied"
            }
            if let previous = observations.steps[..<(checked - 1)].last(where: { $0.name == step.name && $0.attempt == step.attempt }),
               previous.record.skipped, record.scale != previous.record.scale / 2 {
                return "\(step.name) (attempt \(step.attempt)) skipped step \(previous.record.step) at loss scale \(previous.record.scale) and ran step \(record.step) at \(record.scale), not half of it"
            }
        }
        return nil
    }

    override public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { ["workers"] }
}
