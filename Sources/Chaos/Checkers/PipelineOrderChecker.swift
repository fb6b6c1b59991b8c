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
    let topology: Topology?
    var lookedAt: Int64 = -Nanos.second
    public required init(scenario: Scenario) {
        healAt = scenario.healAtSeconds * Nanos.second
        topology = scenario.topology
    }

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
        learnFinishedRuns(simulation)
        return simulation.features.runs.values.allSatisfy { $0.finishedAt != nil || $0.startedAt > healAt }
    }

    /// A run whose success committed while the pipeline service crashed before hearing the answer
    /// is finished all the same: the runs still open by the observations are looked up in the
    /// pipeline's database (experiments_db), and those it holds succeeded count as finished now.
    func learnFinishedRuns(_ simulation: Simulation) {
        // At most once a virtual second: runs finish within seconds, and a look costs a fresh
        // connection to the database.
        guard simulation.now - lookedAt >= Nanos.second else { return }
        lookedAt = simulation.now
        let observations = simulation.features
        let open = observations.runs.filter { $0.value.finishedAt == nil && $0.value.startedAt <= healAt }.keys.sorted()
        guard !open.isEmpty, let topology else { return }
        let view = ServiceStateView(simulation: simulation, topology: topology)
        defer { view.close() }
        guard let rows = view.rows("experiments_db", "SELECT id FROM pipeline_runs WHERE status = 'succeeded' AND id IN (\(open.map(String.init).joined(separator: ",")))") else { return }
        for row in rows {
            guard let id = row.first?.integer else { continue }
            observations.runs[id]?.finishedAt = simulation.now
        }
    }

    public func livenessMessage(_ simulation: Simulation) -> String {
        let open = simulation.features.runs.filter { $0.value.finishedAt == nil && $0.value.startedAt <= healAt }.keys.sorted()
        guard let first = open.first, let run = simulation.features.runs[first] else { return "" }
        let done = simulation.features.taskSucceeded.keys.filter { $0.hasPrefix("\(first)/") }.map { String($0.dropFirst("\(first)/".count)) }.sorted()
        return "\(open.count) pipeline run(s) never finished; run \(first) [\(run.edges.joined(separator: ", "))] started at \(formatNanoseconds(run.startedAt)) has succeeded only [\(done.joined(separator: ", "))]"
    }

    public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { ["pipeline", "workers"] }
}
