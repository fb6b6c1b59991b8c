import SimKernel
import SimServices

/// DAG validation: every verdict a validator gave (the pipeline's DAGs, the features service's
/// transformation graphs) equals Kahn's topological sort's: accepted exactly when acyclic.
public final class DAGValidationChecker: FeatureSafetyChecker, Checker {
    public static let name = "dag-validation"
    public override var name: String { Self.name }
    public static func whyItCannotFire(in scenario: Scenario) -> String? { featureWorkloadMissing(scenario) }
    var checked = 0
    public required init(scenario: Scenario) {}

    override func checkNew(_ observations: FeatureObservations, _ simulation: Simulation) -> String? {
        while checked < observations.graphVerdicts.count {
            let verdict = observations.graphVerdicts[checked]
            checked += 1
            guard case .success(let graph) = DependencyGraph.parse(verdict.edges) else { return "\(verdict.service) judged an unreadable graph \(verdict.name)" }
            if graph.isAcyclic != verdict.accepted {
                let cycle = graph.cycle().map { " (cycle \($0.joined(separator: " -> ")))" } ?? ""
                return "\(verdict.service)'s validator \(verdict.accepted ? "accepted" : "refused") \(verdict.name) [\(verdict.edges.joined(separator: ", "))], which Kahn's topological sort finds \(graph.isAcyclic ? "acyclic" : "cyclic")\(cycle)"
            }
        }
        return nil
    }

    public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { ["features", "pipeline"] }
}
