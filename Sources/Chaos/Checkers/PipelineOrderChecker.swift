import SimKernel
import SimServices

/// Pipeline runs: no task starts before every task upstream of it succeeded (safety); every run
/// the pipeline accepted has finished by heal + converge_within_s (liveness: a cyclic DAG let in
/// never does).
public final class PipelineOrderChecker: FeatureSafetyChecker, Checker {
    public static let name = "pipeline-order"
    public override var name: String { Self.name }
    public static func whyItCannotFire(in scenario: Scenario) -> String? { featureWorkloadMissing(scenario) }
    var checked = 0
    let healAt: Int64
    public required init(scenario: Scenario) { healAt = scenario.healAtSeconds * Nanos.second }

    override func checkNew(_ observations: FeatureObservations, _ simulation: Simulation) -> String? {
        while checked < observations.taskStarts.count {
            let start = observations.taskStarts[checked]
            checked += 1
            guard let run = observations.runs[start.run], case .success(let graph) = DependencyGraph.parse(run.edges) else { continue }
            for upstream in graph.upstream[start.task] ?? [] {
                guard let succeeded = observations.taskSucceeded["\(start.run)/\(upstream)"], succeeded <= start.at else {
                    return "run \(start.run): task \(start.task) started at \(formatNanoseconds(start.at)) before its upstream task \(upstream) succeeded"
                }
            }
        }
        return nil
    }

    /// Runs started by the heal must have finished.
    public func converged(_ simulation: Simulation) -> Bool? {
        simulation.features.runs.values.allSatisfy { $0.finishedAt != nil || $0.startedAt > healAt }
    }

    public func livenessMessage(_ simulation: Simulation) -> String {
        let open = simulation.features.runs.filter { $0.value.finishedAt == nil && $0.value.startedAt <= healAt }.keys.sorted()
        guard let first = open.first, let run = simulation.features.runs[first] else { return "" }
        let done = simulation.features.taskSucceeded.keys.filter { $0.hasPrefix("\(first)/") }.map { String($0.dropFirst("\(first)/".count)) }.sorted()
        return "\(open.count) pipeline run(s) never finished; run \(first) [\(run.edges.joined(separator: ", "))] started at \(formatNanoseconds(run.startedAt)) has succeeded only [\(done.joined(separator: ", "))]"
    }

    public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { ["pipeline", "workers"] }
}
