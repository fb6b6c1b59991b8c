import XCTest
@testable import SimKernel
@testable import SimServices

/// Login sessions and refresh-token rotation through auth's routes: a refresh answers the next
/// generation; two concurrent refreshes with one token both get it; a token replayed later is
/// refused and the session revoked; G2 takes the loser of the race for a replay.
final class RefreshSessionsTests: XCTestCase {
    static let login = HTTPRequest("POST", "auth/sessions", body: ["user": "ml-engineer", "api_key": "k-ml-engineer"])
    /// The harness's first session: auth's first token of its first process start (epoch 0) names it.
    static let session = "s-auth-0-1"
    static func refresh(_ generation: Int64, session: String = session) -> HTTPRequest {
        HTTPRequest("POST", "auth/refresh", body: ["refresh_token": AuthService.refreshToken(session: session, generation: generation)])
    }

    /// A refresh token names its session and generation and carries a mac: any change to it is refused.
    func testARefreshTokenIsParsedOnlyWithItsMac() {
        let token = AuthService.refreshToken(session: "s-x", generation: 3)
        XCTAssertEqual(AuthService.parseRefreshToken(token)?.session, "s-x")
        XCTAssertEqual(AuthService.parseRefreshToken(token)?.generation, 3)
        let mac = String(token.split(separator: ".").last!)
        XCTAssertNil(AuthService.parseRefreshToken("rt.s-x.4.\(mac)"), "the generation moved")
        XCTAssertNil(AuthService.parseRefreshToken("rt.s-y.3.\(mac)"), "another session")
        XCTAssertNil(AuthService.parseRefreshToken(token + "0"))
        XCTAssertNil(AuthService.parseRefreshToken("rt.s-x.-1.\(mac)"))
        XCTAssertNil(AuthService.parseRefreshToken("not-a-token"))
    }

    /// Logging in answers an access token for the user and generation 0 of a new session; each
    /// refresh answers the next generation and an access token auth verifies for the same user.
    func testEachRefreshAnswersTheNextGenerationAndAWorkingToken() throws {
        let outcome = ServiceHarness.run("auth", [Self.login, Self.refresh(0), Self.refresh(1)])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 200, 200])
        XCTAssertEqual(outcome.responses[0]?.body["refresh_token"], AuthService.refreshToken(session: Self.session, generation: 0))
        XCTAssertEqual(outcome.responses[2]?.body["refresh_token"], AuthService.refreshToken(session: Self.session, generation: 2))
        let token = try XCTUnwrap(outcome.responses[2]?.body["token"])
        guard case .success(let claims) = AuthService.verify(token, now: 10) else { return XCTFail("auth's token does not verify") }
        XCTAssertEqual([claims.sub, claims.tenant, claims.role], ["ml-engineer", "t1", "scientist"])
        XCTAssertEqual(outcome.view.rows("users_db", "SELECT generation, revoked FROM sessions")?.first?.map(\.plain), ["2", "0"])
    }

    /// A session needs the user's API key; a forged refresh token, and a genuine one of a session
    /// users_db does not hold, are refused and logged.
    func testASessionNeedsTheKeyAndAForgedRefreshIsRefused() {
        let forged = HTTPRequest("POST", "auth/refresh", body: ["refresh_token": "rt.\(Self.session).0.00000000000000000000000000000000"])
        let outcome = ServiceHarness.run("auth", [HTTPRequest("POST", "auth/sessions", body: ["user": "ml-engineer", "api_key": "wrong"]), Self.login, forged,
                                                  Self.refresh(0, session: "s-never-opened")])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [401, 200, 401, 401])
        XCTAssertEqual(outcome.simulation.security.refusals.suffix(2).map(\.reason), ["invalid refresh token", "unknown session"])
    }

    /// Two services refresh with the same token at once: one rotates, the other gets the same
    /// successor (within the grace period), and the session lives on.
    func testTwoConcurrentRefreshesBothGetTheSuccessor() {
        let outcome = ServiceHarness.run("auth", [Self.login, ServiceHarness.concurrently(2, Self.refresh(0)), Self.refresh(1)])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 200, 200, 200])
        let successor = AuthService.refreshToken(session: Self.session, generation: 1)
        XCTAssertEqual(outcome.responses[1]?.body["refresh_token"], successor)
        XCTAssertEqual(outcome.responses[2]?.body["refresh_token"], successor)
        let refreshes = outcome.simulation.security.refreshes
        XCTAssertEqual(refreshes.filter(\.rotated).count, 2, "the race rotated once, the next refresh once")
        XCTAssertTrue(refreshes.allSatisfy(\.accepted))
    }

    /// A token replayed after its successor was used, or after the grace period, is refused as
    /// reuse and the whole session revoked: the current token stops working too.
    func testAReplayedTokenIsRefusedAndRevokesTheSession() {
        let late = ServiceHarness.run("auth", seconds: 60, [Self.login, Self.refresh(0), ServiceHarness.pause(milliseconds: (AuthService.refreshGraceSeconds + 1) * 1000),
                                                          Self.refresh(0), Self.refresh(1)])
        XCTAssertEqual(late.responses.map { $0?.status }, [200, 200, nil, 401, 401])
        XCTAssertTrue(late.simulation.security.refusals.contains { $0.reason == "refresh token reuse" && $0.caller == "ml-engineer@t1" })
        XCTAssertEqual(late.view.rows("users_db", "SELECT revoked FROM sessions")?.first?.first?.plain, "1")
        let older = ServiceHarness.run("auth", [Self.login, Self.refresh(0), Self.refresh(1), Self.refresh(0)])
        XCTAssertEqual(older.responses.map { $0?.status }, [200, 200, 200, 401], "two generations behind: a replay at once")
    }

    /// The access tokens a session issued carry it (`sid`): once reuse detection revokes the
    /// session, auth refuses them (after its cache's TTL) and logs why; a token of the same user
    /// asked with the API key alone (no session) still verifies.
    func testARevokedSessionRecallsItsAccessTokens() {
        func token(_ jti: String, sid: String?) -> HTTPRequest {
            let claims = JWT.Claims(sub: "ml-engineer", tenant: "t1", role: "scientist", iat: 0, nbf: 0, exp: 100_000, jti: jti, sid: sid)
            return HTTPRequest("POST", "auth/verify", body: ["token": JWT.issue(claims, secret: AuthService.secret)])
        }
        // The access token the login itself answers (a run of this seed answers the same one each
        // time, so a first run tells the second which token its login will get).
        let issued = ServiceHarness.run("auth", seconds: 60, [Self.login]).responses[0]?.body["token"] ?? ""
        let verifyIssued = HTTPRequest("POST", "auth/verify", body: ["token": issued])
        let outcome = ServiceHarness.run("auth", seconds: 60, [
            Self.login, token("of-session", sid: Self.session), Self.refresh(0),
            ServiceHarness.pause(milliseconds: (AuthService.refreshGraceSeconds + 1) * 1000), Self.refresh(0),
            ServiceHarness.pause(milliseconds: AuthService.cacheTTL / Nanos.millisecond + 100),
            token("of-session", sid: Self.session), token("keyed", sid: nil), verifyIssued,
        ])
        XCTAssertEqual(outcome.responses[0]?.body["token"], issued, "the login answered the token the first run saw")
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 200, 200, nil, 401, nil, 401, 200, 401], "the login's own token recalled too")
        XCTAssertEqual(JWT.unverifiedClaims(outcome.responses[0]?.body["token"] ?? "")?.sid, Self.session, "the login's token names its session")
        XCTAssertEqual(JWT.unverifiedClaims(outcome.responses[2]?.body["token"] ?? "")?.sid, Self.session, "so does a refresh's")
        let issuedJTI = JWT.unverifiedClaims(issued)?.jti ?? "?"
        XCTAssertEqual(outcome.simulation.security.refusals.suffix(2).map { "\($0.reason): \($0.detail)" },
                       ["session revoked: \(Self.session) token of-session", "session revoked: \(Self.session) token \(issuedJTI)"])
        XCTAssertEqual(outcome.simulation.security.sessionRevocations.map(\.session), [Self.session])
    }

    /// G2: the loser of the race is taken for a replay: refused, and the session revoked under the
    /// winner as well.
    func testG2RefusesTheLoserOfTheRaceAndRevokesTheSession() {
        let outcome = ServiceHarness.run("auth", defects: DefectSet([.G2]), [Self.login, ServiceHarness.concurrently(2, Self.refresh(0)), Self.refresh(1)])
        XCTAssertEqual(outcome.responses.map { $0?.status }.sorted { ($0 ?? 0) < ($1 ?? 0) }, [200, 200, 401, 401])
        XCTAssertEqual(outcome.responses[3]?.status, 401, "the winner's successor dies with the session")
        let loser = outcome.simulation.security.refreshes.first { !$0.rotated }
        XCTAssertEqual(loser?.accepted, false)
        XCTAssertEqual(loser?.row.generation, 1)
    }

    /// Opening and refreshing a session are self-service: a viewer (no write grant on auth) may
    /// call both, as it may ask a token, while auth's other writes stay an administrator's.
    func testEveryRoleMayOpenAndRefreshASession() {
        for role in RBAC.roles {
            XCTAssertTrue(RBAC.permits(role: role, method: "POST", path: "auth/sessions"), role)
            XCTAssertTrue(RBAC.permits(role: role, method: "POST", path: "auth/refresh"), role)
        }
        XCTAssertFalse(RBAC.permits(role: "viewer", method: "POST", path: "auth/roles"))
        XCTAssertFalse(RBAC.permits(role: "unknown", method: "POST", path: "auth/refresh"))
    }
}
