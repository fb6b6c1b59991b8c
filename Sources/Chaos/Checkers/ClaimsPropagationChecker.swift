import SimKernel
import SimServices

/// Claims reach downstream: no call a service made on behalf of a caller whose identity was
/// complete upstream (user, tenant, role, signed by the gateway) was refused as unauthenticated or
/// unauthorised (401, 403) downstream. G1 propagates the user alone, so the models service, asked
/// by the registry for the caller's model, sees no tenant and answers 401.
public final class ClaimsPropagationChecker: SecurityObservationsChecker, Checker {
    public static let name = "claims-propagation"
    public override var name: String { Self.name }
    public static func whyItCannotFire(in scenario: Scenario) -> String? { modelAttacksMissing(scenario) }

    public override func check(_ simulation: Simulation) -> String? {
        guard let observations else { return nil }
        return judgeNew(observations.downstreamCalls, from: &checked) { call in
            call.upstreamComplete && (call.status == 401 || call.status == 403)
                ? "\(call.from) called \(call.to) (\(call.path)) for \(call.user) at \(formatNanoseconds(call.at)) and was answered \(call.status): the caller's claims were lost downstream"
                : nil
        }
    }

    public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { ["registry", "models", "gateway"] }
}
