import SimKernel

/// Authentication: the platform's accounts (user, tenant, role, SHA-256 of the API key) in
/// users_db, JWTs (HS256, `JWT.swift`) issued for a user and its key, verified with the algorithm
/// pinned and a small leeway on this node's clock, and revocation of tokens and changes of role
/// honoured within the revocation cache's TTL (`cacheTTL`).
///
/// Routes: `POST auth/token` (TokenRequest -> TokenResponse), `POST auth/verify` (VerifyRequest ->
/// Identity), `POST auth/revoke` (VerifyRequest -> Revoked), `POST auth/roles` (RoleChange ->
/// RoleChange; admin only, by the identity the gateway forwarded). Its durable state is all in
/// users_db; the cache is memory, lost with the process (and reloaded on the first verification).
public enum AuthService {
    /// The platform's token signing key (checkers verify accepted tokens with it independently).
    public static let secret = Array("synapsenet-token-secret".utf8)
    /// Skew tolerated between the issuer's and the verifier's clocks, in seconds.
    public static let leewaySeconds: Int64 = 5
    /// How long a verification may trust the cached revocations and roles (monotonic time).
    public static let cacheTTL: Int64 = 2 * Nanos.second
    /// The longest lifetime a token may be asked for, and the default.
    public static let maxLifetimeSeconds: Int64 = 3600

    /// The platform's accounts, provisioned with the database (as an identity provider's sync
    /// would): name, tenant, role, API key. Only the key's SHA-256 is stored.
    public static let accounts: [(user: String, tenant: String, role: String, key: String)] = [
        ("alice", "t1", "viewer", "k-alice"),
        ("ml-engineer", "t1", "scientist", "k-ml-engineer"),
        ("bob", "t2", "scientist", "k-bob"),
        ("ops-admin", "t1", "admin", "k-ops-admin"),
        ("ci-bot", "t1", "scientist", "k-ci-bot"),
    ]

    public struct TokenRequest: Codable, Sendable, Equatable {
        public var user: String
        public var apiKey: String
        /// Seconds the token lives (1...3600; default 3600).
        public var lifetimeS: Int64?
        public init(user: String, apiKey: String, lifetimeS: Int64? = nil) { self.user = user; self.apiKey = apiKey; self.lifetimeS = lifetimeS }
    }
    public struct TokenResponse: Codable, Sendable, Equatable { public var token: String }
    public struct VerifyRequest: Codable, Sendable, Equatable {
        public var token: String
        public init(token: String) { self.token = token }
    }
    /// Who a valid token says the caller is, with the role auth holds for the user now.
    public struct Identity: Codable, Sendable, Equatable {
        public var user: String
        public var tenant: String
        public var role: String
        public var jti: String
    }
    public struct Revoked: Codable, Sendable, Equatable { public var jti: String }
    public struct RoleChange: Codable, Sendable, Equatable {
        public var user: String
        public var role: String
        public init(user: String, role: String) { self.user = user; self.role = role }
    }

    /// The verification cache: revoked token ids and users' current roles, as read from users_db
    /// at `loadedAt` (monotonic time).
    final class State: @unchecked Sendable {  // confined to its simulation's thread
        var loadedAt: Int64?
        var revoked: Set<String> = []
        /// Sessions revoked (refresh-token reuse): their access tokens are refused too.
        var revokedSessions: Set<String> = []
        var roles: [String: String] = [:]
        var issued = 0
    }

    static func keyHash(_ key: String) -> [UInt8] { SHA256.hash(Array(key.utf8)) }

    /// Virtual CPU time of comparing one byte in I8's early-exit comparison. The constant-time
    /// comparison's cost is the same for every key and is not modelled (it adds nothing that varies).
    static let byteCompareCost: Int64 = 2 * Nanos.microsecond

    /// Whether the presented key's digest equals the stored one, in constant time: every byte is
    /// compared whatever the first difference. I8 stops at the first differing byte, so the time
    /// it takes grows with the length of the matching prefix (a timing oracle for the digest).
    static func keysMatch(_ runtime: ServiceRuntime, user: String, presented: [UInt8], stored: [UInt8]) async -> Bool {
        let context = runtime.context, started = context.simulation.now
        let matched = zip(presented, stored).prefix { $0 == $1 }.count  // for the observation only
        let equal: Bool
        if runtime.defects.contains(.I8) {
            await context.sleep(nanoseconds: Int64(min(matched + 1, stored.count)) * byteCompareCost)
            equal = presented == stored
        } else {
            equal = SHA256.constantTimeEqual(presented, stored)
        }
        // What a profiler around the comparison would see: its duration and the prefix it matched.
        let security = context.simulation.security
        security.keyComparisons.append((at: started, user: user, matched: matched, spent: context.simulation.now - started))
        security.revision &+= 1
        return equal
    }

    /// The claims of a token whose header, signature and times hold at `now` (seconds of the
    /// verifying node's clock). Revocation and roles are `identity`'s business.
    public static func verify(_ token: String, now: Int64) -> Result<JWT.Claims, JWT.Refusal> {
        JWT.verify(token, key: secretKey, now: now, leeway: leewaySeconds)
    }

    /// `secret`'s HMAC key schedule, computed once.
    static let secretKey = SHA256.HMACKey(secret)

    /// The caller behind a valid, unrevoked token, with its current role (cached up to `cacheTTL`).
    static func identity(_ runtime: ServiceRuntime, token: String) async throws(ServiceError) -> Identity {
        // Who the token says it is, for a refusal's log only (decoded when one is logged).
        let context = runtime.context
        var caller: String { "token(\(JWT.unverifiedClaims(token)?.sub ?? "?"))" }
        let checkedAt = context.localTime / Nanos.second
        // The run's memo of tokens' signature checks (`JWT.VerifiedTokens`: the same answers as
        // `verify`, without re-checking a token's signature on every request).
        let verifier = context.simulation.component(JWT.VerifiedTokens.self) { JWT.VerifiedTokens(key: secretKey) }
        switch verifier.verify(token, now: checkedAt, leeway: leewaySeconds) {
        case .failure(let refusal):
            throw await SecurityEvents.refuse(runtime, caller: caller, reason: refusal.rawValue, detail: "auth/verify", status: 401)
        case .success(let claims):
            let cache = try await fresh(runtime)
            guard !cache.revoked.contains(claims.jti) else {
                throw await SecurityEvents.refuse(runtime, caller: caller, reason: "token revoked", detail: claims.jti, status: 401)
            }
            if let session = claims.sid, cache.revokedSessions.contains(session) {
                throw await SecurityEvents.refuse(runtime, caller: caller, reason: "session revoked", detail: "\(session) token \(claims.jti)", status: 401)
            }
            guard let role = cache.roles[claims.sub] else {
                throw await SecurityEvents.refuse(runtime, caller: caller, reason: "unknown user", detail: claims.sub, status: 401)
            }
            let identity = Identity(user: claims.sub, tenant: claims.tenant, role: role, jti: claims.jti)
            let security = context.simulation.security
            security.verifications.append(.init(at: context.simulation.now, localSeconds: checkedAt, token: token, role: role))
            security.revision &+= 1
            return identity
        }
    }

    /// The cache, reloaded from users_db when it is older than `cacheTTL` (monotonic time).
    /// G4: every hit slides the cache's age back to zero, so under steady traffic it never
    /// reloads and a revoked token or a withdrawn role is honoured long after the TTL.
    static func fresh(_ runtime: ServiceRuntime) async throws(ServiceError) -> State {
        // The age is measured on the monotonic clock (the simulation's time, as the gateway's rate
        // limits are), not the wall clock an NTP step can move back; token times are wall-clock.
        // `now` is taken before the read, so the cache is never younger than its snapshot.
        let cache = runtime.state(State.self), now = runtime.context.trueTime
        if let loaded = cache.loadedAt, now - loaded < cacheTTL {
            if runtime.defects.contains(.G4) { cache.loadedAt = now }
            return cache
        }
        guard case .success(let results) = await runtime.transaction([SQLStatement("SELECT jti FROM revoked_tokens ORDER BY jti"), SQLStatement("SELECT name, role FROM users ORDER BY name"),
                                                                     SQLStatement("SELECT id FROM sessions WHERE revoked = 1 ORDER BY id")]) else {
            throw .unavailable("users_db did not answer")
        }
        cache.revoked = Set(results[0].rows.compactMap { $0.first?.text })
        cache.revokedSessions = Set(results[2].rows.compactMap { $0.first?.text })
        cache.roles = [:]
        for row in results[1].rows { if let name = row[0].text, let role = row[1].text { cache.roles[name] = role } }
        cache.loadedAt = now
        return cache
    }

    /// A token for a user and its API key (`POST auth/token`): the key's digest compared in
    /// constant time with the stored ones (the key being rotated out within its grace period too);
    /// an unknown user is compared against a dummy digest, so both refusals take the same work.
    static func issueToken(_ runtime: ServiceRuntime, _ request: TokenRequest, _ info: RequestInfo, session: Session = .none) async throws(ServiceError) -> TokenResponse {
        let lifetime = request.lifetimeS ?? maxLifetimeSeconds
        guard (1 ... maxLifetimeSeconds).contains(lifetime) else { throw ServiceError(400, "lifetime_s must be 1...\(maxLifetimeSeconds), got \(lifetime)") }
        guard case .success(let rows) = await runtime.transaction([
            SQLStatement("SELECT tenant, role, key_hash, previous_key_hash, rotated_at FROM users WHERE name = ?", [.text(request.user)]),
        ]) else {
            throw .unavailable("users_db did not answer")
        }
        let row = rows[0].rows.first, context = runtime.context, now = context.localTime / Nanos.second, presented = keyHash(request.apiKey)
        let stored = row.flatMap { $0[2].text }.flatMap(bytesFromHex) ?? [UInt8](repeating: 0, count: 32)
        let accepted = await keyAccepted(runtime, user: request.user, presented: presented, current: stored, previous: row.flatMap { $0[3].text }.flatMap(bytesFromHex),
                                         rotatedAt: row?[4].integer, now: now)
        let security = context.simulation.security
        security.keyPresentations.append((context.simulation.now, now, request.user, presented, accepted && row != nil))
        security.revision &+= 1
        guard accepted, let row, let tenant = row[0].text, let role = row[1].text else {
            throw await SecurityEvents.refuse(runtime, caller: SecurityEvents.caller(info), reason: "unknown user or key", detail: request.user, status: 401)
        }
        return TokenResponse(token: mint(runtime, user: request.user, tenant: tenant, role: role, now: now, lifetime: lifetime, session: session))
    }

    /// The session a minted token belongs to (its `sid` claim).
    enum Session {
        /// None: a token asked with the API key alone.
        case none
        /// A session opened with this token, named after the token's id (`s-<jti>`).
        case opened
        case existing(String)
    }

    /// A signed token for the user, valid from `now` (auth's clock, seconds) for `lifetime` seconds,
    /// with an id unique to this auth process start.
    static func mint(_ runtime: ServiceRuntime, user: String, tenant: String, role: String, now: Int64, lifetime: Int64, session: Session = .none) -> String {
        let state = runtime.state(State.self), context = runtime.context
        state.issued += 1
        let jti = "\(context.node.name)-\(context.epoch)-\(state.issued)"
        let sid: String?
        switch session {
        case .none: sid = nil
        case .opened: sid = "s-" + jti
        case .existing(let id): sid = id
        }
        let claims = JWT.Claims(sub: user, tenant: tenant, role: role, iat: now, nbf: now, exp: now + lifetime, jti: jti, sid: sid)
        return JWT.issue(claims, secret: secret)
    }

    public static func spec(defects: DefectSet = .empty) -> ServiceSpec {
        var spec = ServiceSpec(name: "auth", routes: [
            Route("POST", "auth/token", TokenRequest.self, TokenResponse.self) { runtime, request, info throws(ServiceError) in
                try await issueToken(runtime, request, info)
            },
            Route("POST", "auth/sessions", OpenSession.self, SessionTokens.self) { runtime, request, info throws(ServiceError) in
                try await openSession(runtime, request, info)
            },
            Route("POST", "auth/refresh", Refresh.self, SessionTokens.self) { runtime, request, info throws(ServiceError) in
                try await refresh(runtime, request, info)
            },
            Route("POST", "auth/keys/rotate", Rotate.self, Rotated.self) { runtime, request, info throws(ServiceError) in
                try await rotateKey(runtime, request, info)
            },
            Route("POST", "auth/verify", VerifyRequest.self, Identity.self) { runtime, request, _ throws(ServiceError) in
                try await identity(runtime, token: request.token)
            },
            Route("POST", "auth/revoke", VerifyRequest.self, Revoked.self) { runtime, request, info throws(ServiceError) in
                // Whoever holds a token may revoke it (log out), even an expired one; a forged one is refused.
                guard case .success(let claims) = JWT.verify(request.token, secret: secret, now: 0, leeway: Int64.max / 4) else {
                    throw await SecurityEvents.refuse(runtime, caller: SecurityEvents.caller(info), reason: "revocation of an invalid token", detail: "auth/revoke", status: 401)
                }
                guard case .success = await runtime.transaction([SQLStatement("INSERT OR IGNORE INTO revoked_tokens(jti, user) VALUES (?, ?)", [.text(claims.jti), .text(claims.sub)])]) else {
                    throw .unavailable("users_db did not answer")
                }
                let security = runtime.context.simulation.security
                security.revocations.append((at: runtime.context.simulation.now, jti: claims.jti))
                security.revision &+= 1
                return Revoked(jti: claims.jti)
            },
            Route("POST", "auth/roles", RoleChange.self, RoleChange.self) { runtime, request, info throws(ServiceError) in
                // Only an administrator, as the gateway forwarded the caller's verified identity.
                guard info.headers["x-role"] == "admin" else {
                    throw await SecurityEvents.refuse(runtime, caller: SecurityEvents.caller(info), reason: "role change by a non-admin", detail: "\(request.user) -> \(request.role)", status: 403)
                }
                guard RBAC.roles.contains(request.role) else { throw ServiceError(400, "role must be one of \(RBAC.roles.joined(separator: ", ")), got '\(request.role)'") }
                let security = runtime.context.simulation.security, sentAt = runtime.context.simulation.now
                let result = await runtime.transaction([SQLStatement("UPDATE users SET role = ? WHERE name = ?", [.text(request.role), .text(request.user)])])
                guard case .success(let results) = result else {
                    if case .failure(.timeout) = result {  // the change may have committed all the same
                        security.roleChanges.append((at: sentAt, user: request.user, role: request.role, certain: false))
                        security.revision &+= 1
                    }
                    throw .unavailable("users_db did not answer")
                }
                guard results[0].changes == 1 else { throw ServiceError(404, "no user \(request.user)") }
                security.roleChanges.append((at: runtime.context.simulation.now, user: request.user, role: request.role, certain: true))
                security.revision &+= 1
                return request
            },
        ])
        spec.makeState = { State() }
        // How a caller gets a token at all: each body carries its own proof.
        spec.routesWithOwnProof = GatewayService.publicRoutes
        spec.database = "users_db"
        spec.migrations = [
            "CREATE TABLE users(name TEXT PRIMARY KEY, tenant TEXT NOT NULL, role TEXT NOT NULL, key_hash TEXT NOT NULL)",
            "CREATE TABLE revoked_tokens(jti TEXT PRIMARY KEY, user TEXT NOT NULL)",
            "INSERT INTO users VALUES " + accounts.map { "('\($0.user)', '\($0.tenant)', '\($0.role)', '\(SHA256.hex(keyHash($0.key)))')" }.joined(separator: ", "),
            // Key rotation (`KeyRotation.swift`): the key being rotated out, when, and the rotation's id.
            "ALTER TABLE users ADD COLUMN previous_key_hash TEXT",
            "ALTER TABLE users ADD COLUMN rotated_at INTEGER",
            "ALTER TABLE users ADD COLUMN rotation_id TEXT",
            // Login sessions and their refresh tokens' generation (`RefreshSessions.swift`).
            "CREATE TABLE sessions(id TEXT PRIMARY KEY, user TEXT NOT NULL, generation INTEGER NOT NULL, rotated_at INTEGER, revoked INTEGER NOT NULL)",
            // Every rotation id each user has used (`KeyRotation.swift`): an old one sent again is refused.
            "CREATE TABLE key_rotations(user TEXT NOT NULL, request_id TEXT NOT NULL, PRIMARY KEY(user, request_id))",
        ]
        return spec
    }
}
