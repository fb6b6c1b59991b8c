import XCTest
@testable import SimKernel
@testable import SimServices

final class AuthServiceTests: XCTestCase {
    /// A token issued for a user verifies to that user and tenant; a tampered one does not.
    func testAnIssuedTokenVerifiesAndATamperedOneIsRefused() throws {
        let outcome = ServiceHarness.run("auth", [HTTPRequest("POST", "auth/token", body: ["user": "alice", "api_key": "k-alice"])])
        let token = try XCTUnwrap(outcome.responses.first??.body["token"])
        let now = outcome.simulation.now / Nanos.second
        XCTAssertEqual(try AuthService.verify(token, now: now).get(), AuthService.Identity(user: "alice", tenant: "t1"))
        let tampered = token.replacingOccurrences(of: "alice", with: "mallory")
        XCTAssertEqual(AuthService.verify(tampered, now: now), .failure(ServiceError(401, "bad signature")))
        XCTAssertEqual(AuthService.verify(token, now: now + 3600 + 10), .failure(ServiceError(401, "token expired")), "an hour and the leeway later")
    }

    /// The verify route answers the identity of a valid token and 401 for a forged one.
    func testTheVerifyRouteAnswersTheTokensIdentity() {
        let payload = "alice.t1.999999999"
        let outcome = ServiceHarness.run("auth", [HTTPRequest("POST", "auth/verify", body: ["token": payload + "." + AuthService.sign(payload)]),
                                                  HTTPRequest("POST", "auth/verify", body: ["token": payload + ".00"])])
        XCTAssertEqual(outcome.responses[0]?.body, ["user": "alice", "tenant": "t1"])
        XCTAssertEqual(outcome.responses[1], HTTPResponse.error(401, "bad signature"))
    }

    /// The API key is stored as its SHA-256 digest, never in the clear; a wrong key gets 401.
    func testKeysAreStoredHashedAndAWrongKeyIsRefused() {
        let outcome = ServiceHarness.run("auth", [HTTPRequest("POST", "auth/token", body: ["user": "alice", "api_key": "k-alice"]),
                                                  HTTPRequest("POST", "auth/token", body: ["user": "alice", "api_key": "wrong"])])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 401])
        let stored = outcome.view.rows("users_db", "SELECT key_hash FROM users WHERE name = 'alice'")?.first?.first?.text
        XCTAssertEqual(stored, SHA256.hex(SHA256.hash(Array("k-alice".utf8))))
        XCTAssertEqual(AuthService.invariants(outcome.view), [])
    }

    func testTheInvariantFindsAKeyStoredInTheClear() {
        let outcome = ServiceHarness.run("auth", [HTTPRequest("POST", "auth/token", body: ["user": "alice", "api_key": "k-alice"])])
        ServiceHarness.write(outcome, "users_db", "INSERT INTO users VALUES ('bob', 't1', 'k-bob')")
        XCTAssertEqual(AuthService.invariants(outcome.view), ["auth: user bob's key is stored as 'k-bob...', not a SHA-256 digest"])
    }
}
