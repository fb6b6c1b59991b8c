#if canImport(Glibc)
import Glibc
#endif
import SimKernel
import SimServices

/// The learning rate every step applied equals SGDR's (cosine annealing with warm restarts, period
/// `t0` growing by `tMult`), computed here in closed form from the step number, independently of
/// the workers' stepping scheduler: period i starts at t0 (tMult^i - 1)/(tMult - 1) (t0 i when
/// tMult = 1) and lr = etaMin + (base - etaMin)(1 + cos(pi Tcur/Ti))/2. Compared to 1e-12 relative.
public final class LRScheduleChecker: TrainingRunsChecker, SafetyChecker, Checker {
    public static let name = "lr-schedule"
    public var name: String { Self.name }
    var checked = 0
    /// SGDR's rate at `step`, in closed form.
    public static func expectedRate(step: Int, base: Double, etaMin: Double, t0: Int, tMult: Int) -> Double {
        var start = 0, period = t0
        while step >= start + period {
            start += period
            period *= tMult
        }
        return etaMin + (base - etaMin) * (1 + cos(Double.pi * Double(step - start) / Double(period))) / 2
    }

    public func check(_ simulation: Simulation) -> String? {
        guard let observations else { return nil }
        while checked < observations.steps.count {
            let step = observations.steps[checked]
            guard let run = observations.submittedRun(named: step.name) else { break }
            checked += 1
            let spec = run.spec
            // The schedule is indexed by optimizer steps: a skipped (overflowed) step does not move it.
            let expected = Self.expectedRate(step: step.record.optimizerStep, base: spec.learningRate, etaMin: spec.learningRate / 100, t0: spec.restartPeriod, tMult: spec.restartGrowth)
            if abs(step.record.rate - expected) > 1e-12 * Swift.max(1, abs(expected)) {
                return "\(step.name) applied lr \(step.record.rate) at step \(step.record.step) (optimizer step \(step.record.optimizerStep)); SGDR (base \(spec.learningRate), t0 \(spec.restartPeriod), x\(spec.restartGrowth)) gives \(expected)"
            }
        }
        return nil
    }

    override public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { ["workers"] }
}
