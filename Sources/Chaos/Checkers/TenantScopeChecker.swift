import SimKernel
import SimServices

/// Tenant isolation of the models service: every model it served by id belongs to the caller's
/// tenant (I5 looks ids up alone, so a walk through ids reads other tenants' models).
public final class TenantScopeChecker: SecurityObservationsChecker, Checker {
    public static let name = "tenant-scope"
    public override var name: String { Self.name }
    public static func whyItCannotFire(in scenario: Scenario) -> String? { authSessionsMissing(scenario) }

    public override func check(_ simulation: Simulation) -> String? {
        guard let observations else { return nil }
        return judgeNew(observations.modelReads, from: &checked) { read in
            read.modelTenant == read.callerTenant ? nil
                : "models served model \(read.id) of tenant \(read.modelTenant) to \(read.user) of tenant \(read.callerTenant) at \(formatNanoseconds(read.at)): a cross-tenant read"
        }
    }

    public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { ["models", "models-db", "gateway"] }
}
