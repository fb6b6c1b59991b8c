import SimKernel
import SimServices

/// The comparison names the best run an exact comparison of the read-back metrics names: each
/// run's best `val_auc` over its steps (as `GET experiments/metrics` returned it), the largest
/// best first, ties to the lower run id (E2 compares single-precision copies and names the first run).
public final class RunComparisonChecker: TrainingRunsChecker, SafetyChecker, Checker {
    public static let name = "run-comparison"
    public var name: String { Self.name }
    var done = false
    public func check(_ simulation: Simulation) -> String? {
        guard !done, let observations, let comparison = observations.comparison else { return nil }
        done = true
        var best: (run: Int64, value: Double, name: String)?
        for back in observations.readBacks {
            guard let run = observations.submittedRun(named: back.name)?.run,
                  let value = back.points.filter({ $0.key == "val_auc" }).map(\.value).max() else { continue }
            if best == nil || value > best!.value || (value == best!.value && run < best!.run) { best = (run, value, back.name) }
        }
        guard let best, best.run != comparison.best else { return nil }
        let named = observations.submitted.first { $0.run == comparison.best }?.name ?? "run \(comparison.best)"
        return "experiments/compare names \(named) (run \(comparison.best)) the best by val_auc; the read-back metrics say \(best.name) (run \(best.run), best val_auc \(best.value)); ranking \(comparison.ranking)"
    }

    override public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { ["experiments"] }
}
