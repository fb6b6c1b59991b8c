import SimKernel
import SimServices

/// Identities come only from the gateway: every request a service behind the gateway honoured
/// under an identity (`x-user`, `x-tenant`, `x-role`) carried the gateway's signature over it
/// (G3 honours the headers of a call made straight to the service).
public final class GatewayIdentityChecker: SecurityObservationsChecker, Checker {
    public static let name = "gateway-identity"
    public override var name: String { Self.name }
    public static func whyItCannotFire(in scenario: Scenario) -> String? { authSessionsMissing(scenario) }

    public override func check(_ simulation: Simulation) -> String? {
        guard let observations else { return nil }
        return judgeNew(observations.identityCalls, from: &checked) { call in
            call.signed ? nil
                : "\(call.service) honoured \(call.path) for \(call.user) as \(call.role.isEmpty ? "no role" : call.role) at \(formatNanoseconds(call.at)) "
                    + "without the gateway's signature: an identity claimed in the headers of a call that bypassed the gateway"
        }
    }

    public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { ["auth", "gateway"] }
}
