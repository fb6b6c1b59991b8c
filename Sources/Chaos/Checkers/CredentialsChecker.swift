import Foundation
import SimKernel
import SimServices

/// Nothing gets through with a credential it should not: every token auth accepted is an HS256
/// token signed with the platform's key (re-checked here, not by auth's code), inside its
/// [nbf - leeway, exp + leeway) window on the verifying node's clock, neither it nor its session
/// revoked more than the revocation cache's TTL before, and granted the role its user held within that TTL. G4 (a cache whose age every hit resets)
/// honours a revoked token and a withdrawn role long after the TTL.
public final class CredentialsChecker: SecurityObservationsChecker, Checker {
    public static let name = "credentials"
    public override var name: String { Self.name }
    public static func whyItCannotFire(in scenario: Scenario) -> String? { authSessionsMissing(scenario) }
    /// Scheduling slack beyond the TTL: the cache's age is taken before its read is sent.
    static let slack = 50 * Nanos.millisecond
    /// How long a verification waits before it is judged: a role change is observed when its
    /// commit's answer reaches auth, a few milliseconds after a concurrent reload may have read it.
    static let settle = Nanos.second
    var verified = 0

    public override func check(_ simulation: Simulation) -> String? {
        guard let observations else { return nil }
        while verified < observations.verifications.count, observations.verifications[verified].at + Self.settle <= simulation.now {
            let verification = observations.verifications[verified]
            verified += 1
            if let problem = Self.judge(verification, observations) { return problem }
        }
        return nil
    }

    /// The verifications of the run's last `settle`, judged at its end.
    public func finalViolation(_ simulation: Simulation) -> String? {
        guard let observations else { return nil }
        return judgeNew(observations.verifications, from: &verified) { Self.judge($0, observations) }
    }

    /// What is wrong with auth's acceptance of `verification`, if anything.
    static func judge(_ verification: SecurityObservations.Verification, _ observations: SecurityObservations) -> String? {
        let token = verification.token, at = verification.at
        let parts = token.splitBytes(".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, let headerBytes = JWT.fromBase64URL(parts[0]), let signature = JWT.fromBase64URL(parts[2]),
              let header = try? JSONSerialization.jsonObject(with: Data(headerBytes)) as? [String: Any],
              let claims = JWT.unverifiedClaims(token) else { return "auth accepted a token that is not a JWT: \(token.prefix(40))" }
        guard header["alg"] as? String == "HS256" else { return "auth accepted a token whose header names alg \(header["alg"] ?? "nothing") for \(claims.sub) as \(verification.role)" }
        guard signature == SHA256.hmac(key: AuthService.secret, message: Array((parts[0] + "." + parts[1]).utf8)) else {
            return "auth accepted a token not signed with the platform's key, claiming \(claims.sub) of \(claims.tenant) as \(claims.role)"
        }
        let now = verification.localSeconds, leeway = AuthService.leewaySeconds
        if now >= claims.exp + leeway { return "auth accepted token \(claims.jti) of \(claims.sub) at \(now) s on its clock, expired at \(claims.exp) s (leeway \(leeway) s)" }
        if now < claims.nbf - leeway { return "auth accepted token \(claims.jti) of \(claims.sub) at \(now) s on its clock, not valid before \(claims.nbf) s (leeway \(leeway) s)" }
        let horizon = at - AuthService.cacheTTL - slack
        if let revoked = observations.revocations.first(where: { $0.jti == claims.jti && $0.at < horizon }) {
            return "auth accepted token \(claims.jti) of \(claims.sub) at \(formatNanoseconds(at)), revoked at \(formatNanoseconds(revoked.at)): longer than the cache's TTL (\(formatNanoseconds(AuthService.cacheTTL)))"
        }
        if let session = claims.sid, let revoked = observations.sessionRevocations.first(where: { $0.session == session && $0.at < horizon }) {
            return "auth accepted token \(claims.jti) of \(claims.sub) at \(formatNanoseconds(at)), whose session \(session) was revoked at \(formatNanoseconds(revoked.at)): longer than the cache's TTL (\(formatNanoseconds(AuthService.cacheTTL)))"
        }
                // The roles the user may hold at `at`: the one the last committed change before the TTL
        // set (else the account's), any set since (observed up to `settle` later: a change is
        // recorded when its commit is answered), and any whose commit went unanswered after it.
        let changes = observations.roleChanges.filter { $0.user == claims.sub && $0.at <= at + settle }
        let settled = changes.last { $0.certain && $0.at < horizon }
        var allowed = [settled?.role ?? AuthService.accounts.first { $0.user == claims.sub }?.role ?? claims.role]
        allowed += changes.filter { $0.at >= horizon || (!$0.certain && $0.at >= (settled?.at ?? .min)) }.map(\.role)
        if !allowed.contains(verification.role) {
            let withdrawn = settled.map { " (set to \($0.role) at \(formatNanoseconds($0.at)))" } ?? ""
            return "auth granted \(claims.sub) the role \(verification.role) at \(formatNanoseconds(at)), a role withdrawn longer than the cache's TTL before\(withdrawn)"
        }
        return nil
    }

    public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { ["auth", "gateway", "users-db"] }
}
