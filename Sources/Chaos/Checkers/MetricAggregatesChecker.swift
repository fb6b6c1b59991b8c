import SimKernel
import SimServices

/// A metric's summary adds up: its count is the number of points the client logged and had
/// acknowledged, its sum their exact sum (the values are integers below 2^53, so the sum in
/// double precision is exact). E7 wraps the sum in a 32-bit accumulator. Liveness: the client's
/// bookkeeping (this summary and the artifact reads) completes.
public final class MetricAggregatesChecker: TrainingRunsChecker, SafetyChecker, Checker {
    public static let name = "metric-aggregates"
    public var name: String { Self.name }
    var checked = 0

    public func check(_ simulation: Simulation) -> String? {
        guard let observations else { return nil }
        while checked < observations.summaries.count {
            let summary = observations.summaries[checked]
            checked += 1
            guard summary.status == 200, let count = summary.count, let sum = summary.sum else {
                return "the summary of \(summary.key) of run \(summary.run) was answered \(summary.status) after \(summary.logged.count) acknowledged points"
            }
            let exact = summary.logged.reduce(0, +)
            if count != Int64(summary.logged.count) || sum != exact {
                return "the summary of \(summary.key) of run \(summary.run) counts \(count) points summing to \(sum); the \(summary.logged.count) acknowledged points sum to \(exact)"
            }
        }
        return nil
    }

    public func converged(_ simulation: Simulation) -> Bool? { observations?.bookkeepingFinishedAt != nil }

    public func livenessMessage(_ simulation: Simulation) -> String {
        "the client's bookkeeping did not finish: \(observations?.summaries.count ?? 0) summary and \(observations?.artifactReads.count ?? 0) artifact reads done"
    }
}
