import XCTest
@testable import SimKernel
@testable import SimServices

/// Auth through its routes (the real service on the standard platform): keys, tokens, revocation,
/// roles, and the security events of its refusals.
final class AuthServiceTests: XCTestCase {
    /// A token for bob valid for ever (nbf 0, exp far away), signed with the platform's key.
    static func token(_ user: String = "bob", tenant: String = "t2", role: String = "scientist", jti: String = "test-1") -> String {
        JWT.issue(JWT.Claims(sub: user, tenant: tenant, role: role, iat: 0, nbf: 0, exp: 1 << 40, jti: jti), secret: AuthService.secret)
    }

    /// A token issued for a user and key verifies to that user, tenant and role, lives the asked
    /// lifetime, and carries an id unique to this auth process.
    func testAnIssuedTokenCarriesTheAccountsTenantRoleAndLifetime() throws {
        let outcome = ServiceHarness.run("auth", [HTTPRequest("POST", "auth/token", body: ["user": "bob", "api_key": "k-bob", "lifetime_s": "60"]),
                                                  HTTPRequest("POST", "auth/token", body: ["user": "alice", "api_key": "k-alice"])])
        let bob = try XCTUnwrap(outcome.responses[0]?.body["token"]), alice = try XCTUnwrap(outcome.responses[1]?.body["token"])
        let claims = try AuthService.verify(bob, now: outcome.simulation.now / Nanos.second).get()
        XCTAssertEqual([claims.sub, claims.tenant, claims.role], ["bob", "t2", "scientist"])
        XCTAssertEqual(claims.exp - claims.iat, 60)
        XCTAssertEqual(claims.nbf, claims.iat)
        let other = try AuthService.verify(alice, now: outcome.simulation.now / Nanos.second).get()
        XCTAssertEqual([other.sub, other.tenant, other.role], ["alice", "t1", "viewer"])
        XCTAssertEqual(other.exp - other.iat, AuthService.maxLifetimeSeconds)
        XCTAssertNotEqual(claims.jti, other.jti)
    }

    /// The verify route answers the identity with the role auth holds now, and 401 for a forged token.
    func testTheVerifyRouteAnswersTheIdentityWithTheCurrentRole() {
        let stale = Self.token(role: "admin")  // the claim says admin; the account says scientist
        let outcome = ServiceHarness.run("auth", [HTTPRequest("POST", "auth/verify", body: ["token": stale]),
                                                  HTTPRequest("POST", "auth/verify", body: ["token": String(stale.dropLast(4))])])
        XCTAssertEqual(outcome.responses[0]?.body, ["user": "bob", "tenant": "t2", "role": "scientist", "jti": "test-1"])
        XCTAssertEqual(outcome.responses[1], HTTPResponse.error(401, "refused: bad signature"))
    }

    /// API keys are stored as SHA-256 digests; a wrong key and an unknown user get the same 401
    /// (no user enumeration), each logged as a security event before the answer.
    func testAWrongKeyAndAnUnknownUserAreRefusedAlikeAndLogged() {
        let outcome = ServiceHarness.run("auth", [HTTPRequest("POST", "auth/token", body: ["user": "alice", "api_key": "k-alice"]),
                                                  HTTPRequest("POST", "auth/token", body: ["user": "alice", "api_key": "k-alicf"]),
                                                  HTTPRequest("POST", "auth/token", body: ["user": "mallory", "api_key": "k-mallory"])])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 401, 401])
        XCTAssertEqual(outcome.responses[1]?.body, outcome.responses[2]?.body)
        XCTAssertEqual(outcome.simulation.security.refusals.map { "\($0.service) \($0.reason) \($0.detail)" },
                       ["auth unknown user or key alice", "auth unknown user or key mallory"])
        let stored = outcome.view.rows("users_db", "SELECT key_hash FROM users WHERE name = 'alice'")?.first?.first?.text
        XCTAssertEqual(stored, SHA256.hex(SHA256.hash(Array("k-alice".utf8))))
        XCTAssertEqual(AuthService.invariants(outcome.view), [])
    }

    func testTheInvariantFindsAKeyStoredInTheClear() {
        let outcome = ServiceHarness.run("auth", [HTTPRequest("POST", "auth/token", body: ["user": "alice", "api_key": "k-alice"])])
        ServiceHarness.write(outcome, "users_db", "INSERT INTO users(name, tenant, role, key_hash) VALUES ('carol', 't1', 'viewer', 'k-carol')")
        XCTAssertEqual(AuthService.invariants(outcome.view), ["auth: user carol's key is stored as 'k-carol...', not a SHA-256 digest"])
    }

    /// A lifetime outside 1...3600 s is refused with the field's range.
    func testALifetimeOutsideItsRangeIsRefused() {
        let outcome = ServiceHarness.run("auth", [HTTPRequest("POST", "auth/token", body: ["user": "bob", "api_key": "k-bob", "lifetime_s": "0"]),
                                                  HTTPRequest("POST", "auth/token", body: ["user": "bob", "api_key": "k-bob", "lifetime_s": "86400"])])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [400, 400])
        XCTAssertEqual(outcome.responses[1]?.body["error"], "lifetime_s must be 1...3600, got 86400")
    }

    /// A revoked token is still honoured from the cache within its TTL, refused after it (and the
    /// refusal logged); another token of the same user is unaffected.
    func testARevokedTokenIsRefusedOnceTheCacheTTLHasPassed() {
        let revoked = Self.token(jti: "r-1"), other = Self.token(jti: "r-2")
        let ttl = AuthService.cacheTTL / Nanos.millisecond
        let outcome = ServiceHarness.run("auth", [
            HTTPRequest("POST", "auth/verify", body: ["token": revoked]),   // loads the cache
            HTTPRequest("POST", "auth/revoke", body: ["token": revoked]),
            HTTPRequest("POST", "auth/verify", body: ["token": revoked]),   // within the TTL: cached
            ServiceHarness.pause(milliseconds: ttl),
            HTTPRequest("POST", "auth/verify", body: ["token": revoked]),
            HTTPRequest("POST", "auth/verify", body: ["token": other]),
        ])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 200, 200, nil, 401, 200])
        XCTAssertEqual(outcome.responses[1]?.body, ["jti": "r-1"])
        XCTAssertEqual(outcome.responses[4]?.body["error"], "refused: token revoked")
        XCTAssertEqual(outcome.simulation.security.refusals.map(\.reason), ["token revoked"])
        XCTAssertEqual(outcome.view.rows("users_db", "SELECT jti, user FROM revoked_tokens")?.map { $0.map(\.plain) }, [["r-1", "bob"]])
    }

    /// G4: verifications inside the TTL keep sliding the cache's age back, so the revoked token is
    /// still accepted well past the TTL.
    func testG4HonoursARevokedTokenPastTheTTLUnderSteadyTraffic() {
        let revoked = Self.token(jti: "r-1")
        let verify = HTTPRequest("POST", "auth/verify", body: ["token": revoked])
        let steady = Array(repeating: [ServiceHarness.pause(milliseconds: 500), verify], count: 8).flatMap { $0 }
        let outcome = ServiceHarness.run("auth", defects: DefectSet([.G4]), [verify, HTTPRequest("POST", "auth/revoke", body: ["token": revoked])] + steady)
        XCTAssertEqual(outcome.responses.compactMap { $0?.status }, Array(repeating: 200, count: 10), "4 s of verifications after the revocation, TTL 2 s")
        let clean = ServiceHarness.run("auth", [verify, HTTPRequest("POST", "auth/revoke", body: ["token": revoked])] + steady)
        XCTAssertEqual(clean.responses.compactMap { $0?.status }.suffix(4), [401, 401, 401, 401], "without G4 the TTL ends the grace")
    }

    /// Revoking needs a token signed by auth (expired ones may be revoked; forged ones are refused).
    func testOnlyAGenuineTokenCanBeRevoked() {
        let expired = JWT.issue(JWT.Claims(sub: "bob", tenant: "t2", role: "scientist", iat: 0, nbf: 0, exp: 1, jti: "old"), secret: AuthService.secret)
        let forged = JWT.issue(JWT.Claims(sub: "bob", tenant: "t2", role: "scientist", iat: 0, nbf: 0, exp: 1 << 40, jti: "x"), secret: Array("guess".utf8))
        let outcome = ServiceHarness.run("auth", [HTTPRequest("POST", "auth/revoke", body: ["token": expired]),
                                                  HTTPRequest("POST", "auth/revoke", body: ["token": forged])])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 401])
        XCTAssertEqual(outcome.simulation.security.refusals.map(\.reason), ["revocation of an invalid token"])
    }

    /// Only the identity the gateway forwarded as admin may change a role (not a platform
    /// service's, not a scientist's); the change reaches
    /// verifications within the cache's TTL; an unknown role is 400, an unknown user 404.
    func testARoleChangeNeedsAnAdminAndReachesVerificationsWithinTheTTL() {
        let bob = Self.token()
        let change = ["user": "bob", "role": "viewer"]
        let outcome = ServiceHarness.run("auth", [
            HTTPRequest("POST", "auth/verify", body: ["token": bob]),
            HTTPRequest("POST", "auth/roles", body: change),
            HTTPRequest("POST", "auth/roles", body: change, headers: ["x-user": "bob", "x-tenant": "t2", "x-role": "scientist"]),
            HTTPRequest("POST", "auth/roles", body: ["user": "bob", "role": "root"], headers: ["x-user": "ops-admin", "x-tenant": "t1", "x-role": "admin"]),
            HTTPRequest("POST", "auth/roles", body: ["user": "nobody", "role": "viewer"], headers: ["x-user": "ops-admin", "x-tenant": "t1", "x-role": "admin"]),
            HTTPRequest("POST", "auth/roles", body: change, headers: ["x-user": "ops-admin", "x-tenant": "t1", "x-role": "admin"]),
            ServiceHarness.pause(milliseconds: AuthService.cacheTTL / Nanos.millisecond),
            HTTPRequest("POST", "auth/verify", body: ["token": bob]),
        ])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 403, 403, 400, 404, 200, nil, 200])
        XCTAssertEqual(outcome.responses[0]?.body["role"], "scientist")
        XCTAssertEqual(outcome.responses[7]?.body["role"], "viewer")
        XCTAssertEqual(outcome.simulation.security.refusals.map { "\($0.caller) \($0.reason)" },
                       ["svc:harness@- role change by a non-admin", "bob@t2 role change by a non-admin"])
        XCTAssertEqual(outcome.simulation.security.roleChanges.map { "\($0.user) \($0.role)" }, ["bob viewer"])
    }

    /// The platform's own role (`service`, what a platform service acting as itself holds) is
    /// never given to a user: an administrator asking for it gets 400 and bob's role stays as it
    /// was; the role grants no user route (auth, admin, models) and only what platform jobs call.
    func testTheServiceRoleIsNeverGivenToAUserAndGrantsOnlyThePlatformsJobs() {
        let outcome = ServiceHarness.run("auth", [
            HTTPRequest("POST", "auth/roles", body: ["user": "bob", "role": "service"], headers: ["x-user": "ops-admin", "x-tenant": "t1", "x-role": "admin"]),
            HTTPRequest("POST", "auth/verify", body: ["token": Self.token()]),
        ])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [400, 200])
        XCTAssertEqual(outcome.responses[1]?.body["role"], "scientist")
        XCTAssertFalse(RBAC.roles.contains("service"))
        // Every route the platform's services call through the gateway as themselves.
        for (method, path) in [("GET", "experiments/runs"), ("POST", "experiments/runs"), ("POST", "experiments/runs/attempt"), ("POST", "experiments/runs/finish"),
                               ("POST", "experiments/metrics"), ("GET", "experiments/datasets"), ("POST", "pipeline/tasks/done"), ("POST", "features/materialize"),
                               ("POST", "registry/versions")] {
            XCTAssertTrue(RBAC.permits(role: "service", method: method, path: path), "\(method) \(path)")
        }
        for path in ["auth/roles", "admin/quotas", "models/create", "webhooks/endpoints", "inference/predict", "training/runs", "training/jobs"] {
            XCTAssertFalse(RBAC.permits(role: "service", method: "POST", path: path), path)
        }
    }

    /// The key comparison is charged the same virtual time whatever prefix the presented digest
    /// shares with the stored one (0, 1 and all 32 bytes); I8's early exit is charged (matched + 1)
    /// byte costs. (The comparison itself is `SHA256.constantTimeEqual`, which folds every byte.)
    func testKeyComparisonsAreChargedOneDurationWhateverThePrefixAndI8ChargesPerMatchedByte() {
        let keys = ["k-bob"] + AuthSessionsKeys.probes
        let requests = keys.map { HTTPRequest("POST", "auth/token", body: ["user": "bob", "api_key": $0]) }
        let clean = ServiceHarness.run("auth", requests)
        XCTAssertEqual(clean.responses.map { $0?.status }, [200, 401, 401])
        XCTAssertEqual(clean.simulation.security.keyComparisons.map { "\($0.matched):\($0.spent)" }, ["32:0", "0:0", "1:0"])
        let leaky = ServiceHarness.run("auth", defects: DefectSet([.I8]), requests)
        XCTAssertEqual(leaky.responses.map { $0?.status }, [200, 401, 401], "I8 leaks time, not access")
        let cost = AuthService.byteCompareCost
        XCTAssertEqual(leaky.simulation.security.keyComparisons.map { "\($0.matched):\($0.spent)" }, ["32:\(32 * cost)", "0:\(cost)", "1:\(2 * cost)"])
    }

    /// Past the gateway, a signature is good for its own body and for 30 s of the verifier's
    /// clock: the administrator's identity signed over another body (a captured header set put on
    /// a new request), or signed 31 s ago (either way), is refused 401 and logged; the same
    /// identity signed 29 s ago, over this body, promotes alice.
    func testASignedIdentityIsGoodOnlyForItsBodyAndWithinThirtySeconds() {
        let admin = ["x-user": "ops-admin", "x-tenant": "t1", "x-role": "admin"]
        let promote = HTTPRequest("POST", "auth/roles", body: ["user": "alice", "role": "admin"], headers: admin)
        let outcome = ServiceHarness.run("auth", seconds: 60, [
            ServiceHarness.signed(withExtraField: "note", "x", promote),
            ServiceHarness.signed(secondsAgo: 31, promote),
            ServiceHarness.signed(secondsAgo: -31, promote),
            // Signed before auth's process started: one its predecessor may have taken (503: sign anew).
            ServiceHarness.signed(secondsAgo: 29, promote),
            ServiceHarness.pause(milliseconds: 30_000),
            ServiceHarness.signed(secondsAgo: 29, promote),
        ])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [401, 401, 401, 503, nil, 200])
        XCTAssertEqual(outcome.responses[0]?.body["error"], "refused: identity without the gateway's signature")
        XCTAssertTrue(outcome.responses[1]?.body["error"]?.contains("more than 30 s from") == true, "\(String(describing: outcome.responses[1]))")
        XCTAssertEqual(outcome.responses[3]?.body["error"], "refused: identity signed before this process started: sign it anew")
        XCTAssertEqual(outcome.simulation.security.refusals.map(\.detail), ["POST auth/roles", "POST auth/roles", "POST auth/roles", "POST auth/roles"])
        XCTAssertEqual(outcome.view.rows("users_db", "SELECT role FROM users WHERE name = 'alice'")?.first?.first?.text, "admin", "only the request signed 29 s ago, after the start, was taken")
    }

    /// A request straight to a service with no identity at all is not the platform's own: refused
    /// 401 and logged (anonymous, from its address), unless its route carries its own proof (a
    /// login with an API key); G3 takes it as before.
    func testARequestWithoutAnIdentityPastTheGatewayIsRefusedUnlessItsRouteCarriesItsOwnProof() {
        let bare = ServiceHarness.bare(HTTPRequest("POST", "auth/verify", body: ["token": "x.y.z"]))
        let login = ServiceHarness.bare(HTTPRequest("POST", "auth/token", body: ["user": "alice", "api_key": "k-alice"]))
        let outcome = ServiceHarness.run("auth", [bare, login])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [401, 200])
        XCTAssertEqual(outcome.responses[0]?.body["error"], "refused: no identity on a call past the gateway")
        let client = outcome.platform.node("client")!.id.description
        XCTAssertEqual(outcome.simulation.security.refusals.map { "\($0.caller): \($0.detail)" }, ["anonymous@\(client): POST auth/verify"])
        let bypassed = ServiceHarness.run("auth", defects: DefectSet([.G3]), [bare])
        XCTAssertEqual(bypassed.responses.map { $0?.status }, [401], "G3 lets it reach auth/verify, which refuses the token itself")
        XCTAssertEqual(bypassed.simulation.security.refusals.map(\.detail), ["auth/verify"])
    }

    /// A validly signed identity without a tenant is the platform's only when it is a platform
    /// service acting as itself: a user whose tenant claim is missing or empty is refused 401 and
    /// logged, whatever its role.
    func testAnIdentityWithoutATenantIsThePlatformsOnlyForAPlatformService() {
        let promote = ["user": "alice", "role": "admin"]
        let outcome = ServiceHarness.run("auth", [
            HTTPRequest("POST", "auth/roles", body: promote, headers: ["x-user": "ops-admin", "x-role": "admin"]),
            HTTPRequest("POST", "auth/roles", body: promote, headers: ["x-user": "ops-admin", "x-tenant": "", "x-role": "admin"]),
            HTTPRequest("POST", "auth/roles", body: promote, headers: ["x-user": "svc:workers", "x-role": "admin"]),
        ])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [401, 401, 401])
        XCTAssertEqual(outcome.responses[0]?.body["error"], "refused: identity of ops-admin without a tenant")
        XCTAssertEqual(outcome.responses[2]?.body["error"], "refused: identity of svc:workers without a tenant", "a service's name with another role is no platform service")
        XCTAssertEqual(outcome.view.rows("users_db", "SELECT role FROM users WHERE name = 'alice'")?.first?.first?.text, "viewer")
    }

    /// A call straight to auth claiming the administrator's identity without the gateway's
    /// signature (or with one made for another request) is refused 401 and logged; G3 honours it.
    func testAnIdentityWithoutTheGatewaysSignatureIsRefusedAndG3HonoursIt() {
        let admin = ["x-user": "ops-admin", "x-tenant": "t1", "x-role": "admin"]
        let replayed = ServiceHarness.signed(asPath: "auth/revoke", HTTPRequest("POST", "auth/roles", body: ["user": "alice", "role": "admin"], headers: admin))
        let direct = ServiceHarness.unsigned(HTTPRequest("POST", "auth/roles", body: ["user": "alice", "role": "admin"], headers: admin))
        let outcome = ServiceHarness.run("auth", [direct, replayed])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [401, 401])
        XCTAssertEqual(outcome.responses[0]?.body["error"], "refused: identity without the gateway's signature")
        XCTAssertEqual(outcome.simulation.security.refusals.map(\.detail), ["POST auth/roles", "POST auth/roles"])
        XCTAssertEqual(outcome.view.rows("users_db", "SELECT role FROM users WHERE name = 'alice'")?.first?.first?.text, "viewer")
        let bypassed = ServiceHarness.run("auth", defects: DefectSet([.G3]), [direct])
        XCTAssertEqual(bypassed.responses[0]?.status, 200)
        XCTAssertEqual(bypassed.view.rows("users_db", "SELECT role FROM users WHERE name = 'alice'")?.first?.first?.text, "admin")
        XCTAssertEqual(bypassed.simulation.security.identityCalls.map { "\($0.user) \($0.signed)" }, ["ops-admin false"])
    }

    /// A security event's fields cannot carry the separator or a line break: a forged token's
    /// subject such as `x|auth|bob@t2|token revoked` stays one field.
    func testASecurityEventFieldCannotCarryTheSeparator() {
        XCTAssertEqual(SecurityEvents.field("x|auth|bob@t2|token revoked"), "x%7Cauth%7Cbob@t2%7Ctoken revoked")
        XCTAssertEqual(SecurityEvents.field("a\nb\r\nc%7C"), "a%0Ab%0D%0Ac%257C")
        XCTAssertEqual(SecurityEvents.field("token(bob)"), "token(bob)")
    }

    /// A token of a user that no longer exists is refused, whatever its signature.
    func testATokenOfAnUnknownUserIsRefused() {
        let ghost = Self.token("ghost", tenant: "t1", role: "admin")
        let outcome = ServiceHarness.run("auth", [HTTPRequest("POST", "auth/verify", body: ["token": ghost])])
        XCTAssertEqual(outcome.responses[0], HTTPResponse.error(401, "refused: unknown user"))
    }
}

/// The prober's keys, computed here the way the workload does (SimServicesTests cannot see Chaos):
/// wrong keys for bob whose digests share exactly 0 and 1 leading bytes with his key's.
enum AuthSessionsKeys {
    static let probes: [String] = {
        let stored = SHA256.hash(Array("k-bob".utf8))
        return [0, 1].map { prefix in
            (0...).lazy.map { "guess-\($0)" }.first { zip(SHA256.hash(Array($0.utf8)), stored).prefix(while: { $0 == $1 }).count == prefix }!
        }
    }()
}

/// A signed identity is taken once, by the node it was signed for: the same request sent again
/// (captured inside the mesh) is refused and logged, and one signed for another node is refused.
final class IdentityReplayTests: XCTestCase {
    static let engineer = ModelTenancyTests.engineer

    func testASignedRequestSentAgainIsRefusedAndChangesNothing() {
        let create = ServiceHarness.with(Self.engineer, HTTPRequest("POST", "experiments/runs", body: ["experiment": "fraud", "code": "git-abc123", "data": "sha256-d1"]))
        let outcome = ServiceHarness.run("experiments", [create, ServiceHarness.replayLast, ServiceHarness.signed(forService: "models", create)])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 401, 401])
        XCTAssertTrue(outcome.responses[1]?.body["error"]?.hasPrefix("refused: identity signature replayed (nonce ") == true, "\(String(describing: outcome.responses[1]))")
        XCTAssertTrue(outcome.responses[2]?.body["error"]?.hasPrefix("refused: identity signed for node ") == true, "\(String(describing: outcome.responses[2]))")
        XCTAssertEqual(outcome.view.rows("experiments_db", "SELECT COUNT(*) FROM runs")?.first?.first?.integer, 1, "the replay created no second run")
        XCTAssertEqual(outcome.simulation.security.refusals.map(\.detail), ["POST experiments/runs", "POST experiments/runs"])
    }

    /// The network delivers every message twice, each copy the same transport message: every
    /// signed request reaches the service twice with one nonce, and the copy is taken as the
    /// original was (a duplicated packet is not an attacker's replay): the reads are answered,
    /// nothing is refused or logged.
    func testTheNetworksDuplicateOfASignedRequestIsTakenAsTheOriginalNotRefused() {
        let create = ServiceHarness.with(Self.engineer, HTTPRequest("POST", "experiments/runs", body: ["experiment": "fraud", "code": "git-abc123", "data": "sha256-d3"]))
        let read = ServiceHarness.with(Self.engineer, HTTPRequest("GET", "experiments/runs", body: ["run": "1"]))
        let outcome = ServiceHarness.run("experiments", duplicateEveryMessage: true, [create, read, read])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 200, 200], "\(outcome.responses.map { $0?.body ?? [:] })")
        XCTAssertEqual(outcome.simulation.security.refusals.map(\.reason), [], "no duplicate was taken for a replay")
        XCTAssertGreaterThanOrEqual(outcome.simulation.network.statistics.duplicated, 6, "each request and answer was duplicated")
    }

    /// A process restarted has forgotten the nonces it took: the request signed before its start
    /// is answered 503 (sign it anew) and logged, and the same request signed anew, once the
    /// mesh's clock tolerance past the start has gone by, is taken.
    func testARestartedServiceAsksForASignatureMadeAfterItsStart() {
        let create = ServiceHarness.with(Self.engineer, HTTPRequest("POST", "experiments/runs", body: ["experiment": "fraud", "code": "git-abc123", "data": "sha256-d2"]))
        let outcome = ServiceHarness.run("experiments", seconds: 60, [
            create, ServiceHarness.crash(node: "experiments"), ServiceHarness.pause(milliseconds: 500), ServiceHarness.restart(node: "experiments"),
            ServiceHarness.pause(milliseconds: 3000), ServiceHarness.replayLast, create,
        ])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, nil, nil, nil, nil, 503, 200], "\(outcome.responses.map { $0?.body ?? [:] })")
        XCTAssertEqual(outcome.responses[5]?.body["error"], "refused: identity signed before this process started: sign it anew")
        XCTAssertEqual(outcome.simulation.security.refusals.map(\.reason), ["identity signed before this process started: sign it anew"])
        XCTAssertEqual(outcome.view.rows("experiments_db", "SELECT COUNT(*) FROM runs")?.first?.first?.integer, 2, "the first and the one signed anew; the request refused 503 created none")
    }

    /// The gap the on-disk marks close: a signer whose clock runs 10 s ahead (outside the mesh's
    /// 1 s tolerance) has a request taken; the service crashes and restarts 500 ms later, so the
    /// new life's start floor (its start plus 1 s) lies before the signature. The replay of the
    /// captured request, 3 s after the restart and still inside the 30 s window, is refused as
    /// signed before this process started (the signer's mark, read back from the node's disk),
    /// and created nothing. Without the marks it was taken as a first and created a second run.
    func testARestartedServiceRefusesTheReplayOfASignatureItsPreviousLifeTookFromASignerAhead() throws {
        let create = ServiceHarness.signed(secondsAgo: -10, ServiceHarness.with(Self.engineer, HTTPRequest("POST", "experiments/runs", body: ["experiment": "fraud", "code": "git-abc123", "data": "sha256-d4"])))
        let outcome = ServiceHarness.run("experiments", seconds: 60, [
            create, ServiceHarness.crash(node: "experiments"), ServiceHarness.pause(milliseconds: 500), ServiceHarness.restart(node: "experiments"),
            ServiceHarness.pause(milliseconds: 3000), ServiceHarness.replayLast,
        ])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, nil, nil, nil, nil, 503], "\(outcome.responses.map { $0?.body ?? [:] })")
        XCTAssertEqual(outcome.responses[5]?.body["error"], "refused: identity signed before this process started: sign it anew")
        XCTAssertEqual(outcome.view.rows("experiments_db", "SELECT COUNT(*) FROM runs")?.first?.first?.integer, 1, "the replay created no second run")
        // Refused by the signer's own mark, read back whole (not by a mark for every signer).
        let disk = try XCTUnwrap(outcome.simulation.node(named: "experiments")?.disk)
        let marks = try XCTUnwrap(SignedUntilMarks.decode(try disk.readAll(SignedUntilMarks.path(service: "experiments"))))
        XCTAssertNil(marks[SignedUntilMarks.anySigner])
        XCTAssertEqual(marks.count, 1, "one signer, the harness's client: \(marks)")
    }

    /// A mark is written, durably, before the first signature beyond it is taken, leased 1 s
    /// ahead: the signatures inside the lease write nothing, the next life reads every signer's
    /// mark back, and a signer's own later signature is taken by it.
    func testSignedUntilMarksAreLeasedAheadDurableAndReadBackByTheNextLife() throws {
        let disk = SimDisk(options: DiskOptions())
        let path = SignedUntilMarks.path(service: "experiments"), second = Nanos.second
        let cache = ReplayCache(startedAt: 0, marks: SignedUntilMarks(disk: disk, path: path, startedAt: 0))
        XCTAssertEqual(cache.take("n4-0-1", message: "1", signedAt: 10 * second, now: 10 * second, trueNow: 10 * second), .first)
        let writes = disk.operationCount
        XCTAssertEqual(cache.take("n4-0-2", message: "2", signedAt: 10 * second + second / 2, now: 10 * second, trueNow: 10 * second), .first)
        XCTAssertEqual(disk.operationCount, writes, "inside the lease: nothing written")
        XCTAssertEqual(cache.take("n7-2-9", message: "3", signedAt: 12 * second, now: 12 * second, trueNow: 12 * second), .first)
        XCTAssertFalse(disk.hasUnsyncedChanges, "marks and their name are durable before the signature is taken")
        var random = SimRandom(seed: 3)
        _ = disk.crash(random: &random)
        let next = SignedUntilMarks(disk: disk, path: path, startedAt: 14 * second)
        XCTAssertEqual(next.previous, ["n4": 11 * second, "n7": 13 * second])
        XCTAssertFalse(next.unreadable)
        let life2 = ReplayCache(startedAt: 0, marks: next)
        XCTAssertEqual(life2.take("n4-0-1", message: "4", signedAt: 10 * second, now: 14 * second, trueNow: 14 * second), .beforeStart, "a replay of what the first life took")
        XCTAssertEqual(life2.take("n4-0-3", message: "5", signedAt: 11 * second, now: 14 * second, trueNow: 14 * second), .beforeStart, "inside n4's lease")
        XCTAssertEqual(life2.take("n4-0-4", message: "6", signedAt: 11 * second + 1, now: 14 * second, trueNow: 14 * second), .first, "n4's next signature")
        XCTAssertEqual(life2.take("n9-0-1", message: "7", signedAt: 5 * second, now: 14 * second, trueNow: 14 * second), .first, "a signer the first life never took from")
    }

    /// Marks that do not read back whole (a corrupted record) are replaced by a mark for every
    /// signer at the start plus the window and the lease (100 s + 30 s + 1 s), kept on disk with
    /// the rest: a third life, whose marks read back, still refuses a signature its first life may
    /// have taken (signed 125 s, from a signer the second life never took from). A full disk
    /// refuses the signature it cannot record and leaves the marks on disk whole; the node's
    /// signer names are checked (anything else is one signer, `?`).
    func testLostMarksAreReplacedByAMarkForEverySignerKeptForLaterLivesAndAFullDiskRefuses() throws {
        let disk = SimDisk(options: DiskOptions())
        let path = SignedUntilMarks.path(service: "models"), second = Nanos.second
        XCTAssertEqual(SignedUntilMarks.decode(SignedUntilMarks.encode(["n1": 5, "n12": -3, "*": 7])), ["n1": 5, "n12": -3, "*": 7])
        XCTAssertEqual(["n4-0-1", "n12-3-9", "x-1", "n-1", "n1a-2", "nonce", "n7"].map(SignedUntilMarks.signer(ofNonce:)), ["n4", "n12", "?", "?", "?", "?", "n7"])
        var damaged = SignedUntilMarks.encode(["n1": 5])
        damaged[damaged.count - 1] ^= 1
        XCTAssertNil(SignedUntilMarks.decode(damaged))
        try disk.writeAll(path, damaged)
        let lost = SignedUntilMarks(disk: disk, path: path, startedAt: 100 * second)
        XCTAssertTrue(lost.unreadable)
        let life2 = ReplayCache(startedAt: 100 * second, marks: lost)
        XCTAssertEqual(life2.take("n1-0-1", message: "1", signedAt: 131 * second, now: 120 * second, trueNow: 120 * second), .beforeStart, "the window and the lease past the start")
        XCTAssertEqual(life2.take("n2-0-1", message: "2", signedAt: 131 * second + 1, now: 125 * second, trueNow: 125 * second), .first)
        let kept = try XCTUnwrap(SignedUntilMarks.decode(try disk.readAll(path)), "the marks on disk read back whole")
        XCTAssertEqual(kept, ["*": 131 * second, "n2": 132 * second + 1])
        let life3 = ReplayCache(startedAt: 126 * second, marks: SignedUntilMarks(disk: disk, path: path, startedAt: 126 * second))
        XCTAssertEqual(life3.take("n1-0-7", message: "3", signedAt: 128 * second, now: 128 * second, trueNow: 128 * second), .beforeStart,
                       "n1's signature may be one the first life took: the mark for every signer still holds")
        XCTAssertEqual(life3.take("n1-0-8", message: "4", signedAt: 131 * second + 1, now: 128 * second, trueNow: 128 * second), .first)
        disk.options.capacityBytes = disk.usedBytes
        XCTAssertEqual(life3.take("n3-0-1", message: "5", signedAt: 133 * second, now: 129 * second, trueNow: 129 * second), .unrecorded)
        XCTAssertEqual(SignedUntilMarks.decode(try disk.readAll(path))?["n1"], 132 * second + 1, "the refused write left the marks whole")
        XCTAssertFalse(disk.exists(path + ".tmp"))
        XCTAssertEqual(life3.take("n1-0-9", message: "6", signedAt: 132 * second, now: 129 * second, trueNow: 129 * second), .first, "inside n1's lease: nothing to write")
    }

    /// The cache: a nonce once; a signature older than the process's start (plus the mesh's clock
    /// tolerance) is for the process before it, which may have taken it; a nonce is forgotten once
    /// its signature's window has closed on the process's clock and twice the window has passed in
    /// true time (here the clocks agree, so the window decides), and not a moment before.
    func testTheReplayCacheTakesANonceOnceAndForgetsItAfterItsWindow() {
        let cache = ReplayCache(startedAt: 100 * Nanos.second)
        XCTAssertEqual(take(cache, "a", "m1", signed: 100, now: 101), .beforeStart, "within the clock tolerance of the start")
        XCTAssertEqual(take(cache, "a", "m2", signed: 102, now: 102), .first)
        XCTAssertEqual(take(cache, "a", "m3", signed: 102, now: 110), .replay)
        XCTAssertEqual(take(cache, "b", "m4", signed: 110, now: 110), .first)
        XCTAssertEqual(cache.count, 2)
        XCTAssertEqual(take(cache, "c", "m5", signed: 162, now: 162), .first, "a's window closed at 132 s, its twice-window at 162 s: kept")
        XCTAssertEqual(cache.count, 3, "a, b and c kept at the edge")
        XCTAssertEqual(take(cache, "d", "m6", signed: 163, now: 163), .first)
        XCTAssertEqual(cache.count, 3, "a forgotten past 162 s; b, c and d kept")
        XCTAssertEqual(take(cache, "b", "m7", signed: 110, now: 169), .replay, "b is kept until 170 s")
    }

    /// The network's duplicate of a message (the same transport message) is taken as the original
    /// was; the same nonce in another message is a replay, before and after the duplicate.
    func testTheReplayCacheTakesTheNetworksDuplicateButNotAReplay() {
        let cache = ReplayCache(startedAt: 0)
        XCTAssertEqual(take(cache, "n", "41", signed: 5, now: 5), .first)
        XCTAssertEqual(take(cache, "n", "41", signed: 5, now: 5), .duplicate)
        XCTAssertEqual(take(cache, "n", "42", signed: 5, now: 6), .replay)
        XCTAssertEqual(take(cache, "n", "41", signed: 5, now: 7), .duplicate, "a replay does not take the nonce over")
    }

    /// A clock stepped back past a nonce's expiry does not let its signature through again: the
    /// nonce is kept for twice the window in true time, so the replay, inside the window again on
    /// the stepped clock, is still refused.
    func testANonceIsKeptTwiceTheWindowInTrueTimeForAClockSteppedBack() {
        let cache = ReplayCache(startedAt: 0)
        XCTAssertEqual(take(cache, "n", "1", signed: 10, now: 10), .first)
        // 45 s later in true time the node's clock reads 41 s past the signature: the window (30 s)
        // has closed on the clock, but not twice the window in true time; the clock then steps
        // back 20 s and the replay falls inside the window again.
        XCTAssertEqual(take(cache, "x", "2", signed: 51, now: 51, trueNow: 55), .first)
        XCTAssertEqual(take(cache, "n", "3", signed: 10, now: 31, trueNow: 56), .replay)
    }

    /// A clock stepped back further still, after the nonce was forgotten (its window closed and
    /// twice the window gone by in true time): the replay, inside the window again on the stepped
    /// clock, is refused as signed no later than a forgotten nonce; a signature made after the
    /// forgotten one is taken. Without the floor it would be taken as a first.
    func testASignatureNoLaterThanAForgottenNonceIsRefusedWhateverTheClock() {
        let cache = ReplayCache(startedAt: 0)
        XCTAssertEqual(take(cache, "n", "1", signed: 10, now: 10), .first)
        XCTAssertEqual(take(cache, "x", "2", signed: 75, now: 75), .first, "n forgotten: past 40 s on the clock and 70 s in true time")
        XCTAssertEqual(cache.count, 1)
        XCTAssertEqual(cache.forgottenUpTo, 10 * Nanos.second)
        // The clock steps back 60 s: the replay of n (signed at 10 s) is within 30 s of it again.
        XCTAssertEqual(take(cache, "n", "3", signed: 10, now: 15, trueNow: 76), .forgotten)
        XCTAssertEqual(take(cache, "m", "4", signed: 10, now: 15, trueNow: 76), .forgotten, "any nonce signed that early: it may be one forgotten")
        XCTAssertEqual(take(cache, "k", "5", signed: 11, now: 15, trueNow: 77), .first, "signed after every forgotten nonce")
    }

    /// The floor's edge on a clock that never went back (the case the claim "the floor refuses
    /// nothing such a clock lets through" rests on): a nonce signed at 10 s is forgotten at
    /// 40 s + 1 ns on the clock (70 s + 1 ns in true time), and a signature 1 ns after it, the
    /// oldest the window still admits then, is taken.
    func testTheOldestSignatureTheWindowAdmitsAfterAForgottenNonceIsTaken() {
        let cache = ReplayCache(startedAt: 0), second = Nanos.second
        XCTAssertEqual(cache.take("n", message: "1", signedAt: 10 * second, now: 10 * second, trueNow: 10 * second), .first)
        let now = 40 * second + 1, trueNow = 70 * second + 1
        XCTAssertEqual(cache.take("x", message: "2", signedAt: now, now: now, trueNow: trueNow), .first)
        XCTAssertEqual(cache.forgottenUpTo, 10 * second, "n was forgotten")
        XCTAssertTrue((10 * second + 1).isWithin(ForwardedIdentity.windowNanos, of: now), "the window admits a signature 1 ns after n's")
        XCTAssertEqual(cache.take("y", message: "3", signedAt: 10 * second + 1, now: now, trueNow: trueNow), .first)
    }

    /// `cache.take` with its times in whole seconds (true time as the process's clock unless given).
    private func take(_ cache: ReplayCache, _ nonce: String, _ message: String, signed: Int64, now: Int64, trueNow: Int64? = nil) -> ReplayCache.Verdict {
        cache.take(nonce, message: message, signedAt: signed * Nanos.second, now: now * Nanos.second, trueNow: (trueNow ?? now) * Nanos.second)
    }
}
