import SimKernel
import SimServices

/// An experiment filter answers only runs of the caller's tenant, whatever the filter says: every
/// run in every answer of `GET experiments/runs/filter` belongs to the tenant the caller acts in
/// (its tenant as read from the same rows). I1 splices the filter into the SQL text, and a clause
/// such as `metrics.auc > 0) OR (1=1` returns every tenant's runs.
public final class RunTenantScopeChecker: SecurityObservationsChecker, Checker {
    public static let name = "run-tenant-scope"
    public override var name: String { Self.name }
    public static func whyItCannotFire(in scenario: Scenario) -> String? { authSessionsMissing(scenario) }

    public override func check(_ simulation: Simulation) -> String? {
        guard let observations else { return nil }
        return judgeNew(observations.runFilters, from: &checked) { answer in
            let foreign = answer.runs.filter { $0.tenant != answer.callerTenant }
            guard let first = foreign.first else { return nil }
            return "the experiment filter '\(answer.filter)' answered \(answer.caller) (tenant \(answer.callerTenant)) \(foreign.count) run(s) of other tenants at \(formatNanoseconds(answer.at)), the first run \(first.run) of \(first.tenant)"
        }
    }

    public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { ["experiments", "experiments-db", "gateway"] }
}
