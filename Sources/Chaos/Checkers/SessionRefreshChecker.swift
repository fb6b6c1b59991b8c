import SimKernel
import SimServices

/// Refresh-token rotation keeps a session working for every service that shares it, and nothing
/// else: a refresh that did not win the rotation is refused exactly when it is a replay. It must
/// be answered when the session was live and had moved on by one generation, from the token
/// presented, within `AuthService.refreshGraceSeconds` on auth's clock (less a second of margin):
/// that is a concurrent refresh, or a retry whose first answer was lost. It must be refused when
/// the session was revoked, the token was older, or the grace period (plus a second) had passed.
/// G2 treats every refresh that lost the race as a replay: a valid session refused during refresh.
public final class SessionRefreshChecker: SecurityObservationsChecker, Checker {
    public static let name = "session-refresh"
    public override var name: String { Self.name }
    public static func whyItCannotFire(in scenario: Scenario) -> String? { authSessionsMissing(scenario) }

    public override func check(_ simulation: Simulation) -> String? {
        guard let observations else { return nil }
        return judgeNew(observations.refreshes, from: &checked) { refresh in
            guard !refresh.rotated else { return nil }  // the rotation itself: the token was current
            let row = refresh.row, grace = AuthService.refreshGraceSeconds
            let age = row.rotatedAt.map { refresh.localSeconds - $0 }
            let successor = !row.revoked && row.generation == refresh.presented + 1
            let when = "\(formatNanoseconds(refresh.at)) (\(refresh.user)'s session \(refresh.session), generation \(refresh.presented))"
            if !refresh.accepted, successor, let age, age < grace - 1 {
                return "a valid session refused during refresh at \(when): the session had moved to generation \(row.generation) \(age) s before, within the \(grace) s grace of a concurrent refresh"
            }
            if refresh.accepted, !successor || (age ?? Int64.max) > grace + 1 {
                let state = row.revoked ? "the session was revoked" : "the session was at generation \(row.generation), rotated \(age.map { "\($0) s" } ?? "never") before"
                return "a replayed refresh token was honoured at \(when): \(state)"
            }
            return nil
        }
    }

    public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { ["auth", "users-db", "gateway"] }
}
