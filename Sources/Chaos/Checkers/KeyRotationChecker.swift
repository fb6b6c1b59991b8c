import SimKernel
import SimServices

/// A key rotation never leaves its owner without a working key: every key refused for a token was
/// neither the account's new key after a rotation nor the key it replaced within the grace
/// period (`AuthService.keyGraceSeconds`, on auth's clock, less a second of margin). G5 retires the
/// old key at once, so the client still on it is refused until it has deployed the new one.
public final class KeyRotationChecker: SecurityObservationsChecker, Checker {
    public static let name = "key-rotation"
    public override var name: String { Self.name }
    public static func whyItCannotFire(in scenario: Scenario) -> String? { authSessionsMissing(scenario) }

    public override func check(_ simulation: Simulation) -> String? {
        guard let observations else { return nil }
        return judgeNew(observations.keyPresentations, from: &checked) { presented in
            guard !presented.accepted,
                  let rotation = observations.keyRotations.last(where: { $0.user == presented.user && $0.at <= presented.at }) else { return nil }
            if presented.digest == rotation.new, rotation.old != rotation.new {
                return "auth refused \(presented.user)'s new API key at \(formatNanoseconds(presented.at)), after its rotation"
            }
            let since = presented.localSeconds - rotation.rotatedAtLocal
            guard presented.digest == rotation.old, since < AuthService.keyGraceSeconds - 1 else { return nil }
            return "auth refused \(presented.user)'s previous API key at \(formatNanoseconds(presented.at)), \(since) s after its rotation, within the \(AuthService.keyGraceSeconds) s grace period: no key accepted during rotation"
        }
    }

    public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { ["auth", "users-db", "gateway"] }
}
