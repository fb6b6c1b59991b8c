import SimKernel

/// Login sessions with rotating refresh tokens (OAuth 2.0's refresh-token rotation with reuse
/// detection). `POST auth/sessions {user, api_key}` opens a session and answers an access token
/// and a refresh token; `POST auth/refresh {refresh_token}` answers a new access token and the
/// session's next refresh token, and retires the one presented.
///
/// A refresh token is `rt.<session>.<generation>.<mac>` (the mac: HMAC-SHA256 under auth's secret,
/// compared in constant time); the session's current generation lives in users_db. A refresh moves
/// the generation on with a compare-and-set (`WHERE generation = ?`), so of two concurrent
/// refreshes with the same token exactly one rotates. The other is **not** a replay: several
/// services of one client share a session and refresh when their access token runs out, often at
/// the same moment. A token one generation behind, within `refreshGraceSeconds` of its rotation
/// (auth's clock), gets the successor the winner got and a fresh access token. Anything older, or
/// later, is a stolen token replayed: refused, and the whole session revoked (no token of it
/// refreshes again, so its holder must log in again), which is what reuse detection is for. The
/// access tokens the session issued carry it (`sid`) and are recalled with it: auth refuses them
/// once its revocation cache has reloaded (within `cacheTTL`), as it refuses a revoked token.
///
/// G2 has no grace: the loser of a concurrent refresh is taken for a replay, so the session is
/// revoked under both services, and a valid session is refused during refresh.
extension AuthService {
    public struct OpenSession: Codable, Sendable, Equatable {
        public var user: String
        public var apiKey: String
        public init(user: String, apiKey: String) { self.user = user; self.apiKey = apiKey }
    }
    public struct Refresh: Codable, Sendable, Equatable {
        public var refreshToken: String
        public init(refreshToken: String) { self.refreshToken = refreshToken }
    }
    public struct SessionTokens: Codable, Sendable, Equatable {
        public var token: String
        public var refreshToken: String
    }

    /// How long after a rotation the refresh token it retired still gets the successor.
    public static let refreshGraceSeconds: Int64 = 10

    /// The refresh token of generation `generation` of session `session`.
    public static func refreshToken(session: String, generation: Int64) -> String {
        "rt.\(session).\(generation).\(refreshMAC(session: session, generation: generation))"
    }

    static func refreshMAC(session: String, generation: Int64) -> String {
        String(SHA256.hex(SHA256.hmac(key: secret, message: Array("refresh\n\(session)\n\(generation)".utf8))).prefix(32))
    }

    /// The session and generation a refresh token names, when its mac holds (constant time).
    public static func parseRefreshToken(_ token: String) -> (session: String, generation: Int64)? {
        let parts = token.splitBytes(".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 4, parts[0] == "rt", !parts[1].isEmpty, let generation = Int64(parts[2]), generation >= 0,
              SHA256.constantTimeEqual(Array(parts[3].utf8), Array(refreshMAC(session: parts[1], generation: generation).utf8)) else { return nil }
        return (parts[1], generation)
    }

    /// What a refresh read of its session in the transaction that tried to rotate it.
    public struct SessionRow: Sendable, Equatable {
        public var generation: Int64
        public var rotatedAt: Int64?
        public var revoked: Bool
    }

    /// The verdict on a refresh that did not win the rotation, under the correct policy (the
    /// checker judges auth's verdicts with it): the successor when the token is the one just
    /// retired, within the grace period, of a live session; nil: a replay.
    public static func concurrentRefreshAllowed(presented: Int64, row: SessionRow, now: Int64) -> Bool {
        !row.revoked && row.generation == presented + 1 && row.rotatedAt.map { now - $0 < refreshGraceSeconds } == true
    }

    static func openSession(_ runtime: ServiceRuntime, _ request: OpenSession, _ info: RequestInfo) async throws(ServiceError) -> SessionTokens {
        let issued = try await issueToken(runtime, TokenRequest(user: request.user, apiKey: request.apiKey), info, session: .opened)
        guard let session = JWT.unverifiedClaims(issued.token)?.sid else { throw .internalError("auth issued an unreadable token") }
        guard case .success = await runtime.transaction([
            SQLStatement("INSERT INTO sessions(id, user, generation, revoked) VALUES (?, ?, 0, 0)", [.text(session), .text(request.user)]),
        ]) else { throw .unavailable("users_db did not answer") }
        return SessionTokens(token: issued.token, refreshToken: refreshToken(session: session, generation: 0))
    }

    static func refresh(_ runtime: ServiceRuntime, _ request: Refresh, _ info: RequestInfo) async throws(ServiceError) -> SessionTokens {
        guard let (session, presented) = parseRefreshToken(request.refreshToken) else {
            throw await SecurityEvents.refuse(runtime, caller: SecurityEvents.caller(info), reason: "invalid refresh token", detail: "auth/refresh", status: 401)
        }
        let context = runtime.context, now = context.localTime / Nanos.second
        guard case .success(let results) = await runtime.transaction([
            SQLStatement("UPDATE sessions SET generation = generation + 1, rotated_at = ? WHERE id = ? AND generation = ? AND revoked = 0",
                         [.integer(now), .text(session), .integer(presented)]),
            SQLStatement("SELECT s.generation, s.rotated_at, s.revoked, u.name, u.tenant, u.role FROM sessions s JOIN users u ON u.name = s.user WHERE s.id = ?", [.text(session)]),
        ]) else { throw .unavailable("users_db did not answer") }
        guard let found = results[1].rows.first, let generation = found[0].integer, let user = found[3].text, let tenant = found[4].text, let role = found[5].text else {
            // A genuine mac over a session users_db does not hold (or of a user since deleted).
            throw await SecurityEvents.refuse(runtime, caller: SecurityEvents.caller(info), reason: "unknown session", detail: session, status: 401)
        }
        let row = SessionRow(generation: generation, rotatedAt: found[1].integer, revoked: found[2].integer != 0)
        let rotated = results[0].changes == 1
        let allowed = rotated || (!runtime.defects.contains(.G2) && concurrentRefreshAllowed(presented: presented, row: row, now: now))
        let security = context.simulation.security
        security.refreshes.append(.init(at: context.simulation.now, localSeconds: now, session: session, user: user, presented: presented,
                                        rotated: rotated, row: row, accepted: allowed))
        security.revision &+= 1
        guard allowed else {
            // A replay (or, under G2, the loser of a race): the whole session is revoked.
            // Refused either way; when the revocation did not commit the caller hears 503, not a
            // 401 that would claim the session is closed.
            guard case .success = await runtime.transaction([SQLStatement("UPDATE sessions SET revoked = 1 WHERE id = ?", [.text(session)])]) else {
                throw .unavailable("refresh token reuse on \(session): the session could not be revoked, try again")
            }
            security.sessionRevocations.append((at: context.simulation.now, session: session))
            security.revision &+= 1
            throw await SecurityEvents.refuse(runtime, caller: "\(user)@\(tenant)", reason: "refresh token reuse", detail: "\(session) generation \(presented)", status: 401)
        }
        return SessionTokens(token: mint(runtime, user: user, tenant: tenant, role: role, now: now, lifetime: maxLifetimeSeconds, session: .existing(session)),
                             refreshToken: refreshToken(session: session, generation: presented + 1))
    }
}
