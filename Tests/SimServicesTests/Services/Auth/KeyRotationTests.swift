import XCTest
@testable import SimKernel
@testable import SimServices

/// API key rotation through auth's routes: the old key stays valid through the grace period, the
/// new one works at once, a retried rotation is one rotation; G5 retires the old key at once.
final class KeyRotationTests: XCTestCase {
    static let bot = ["x-user": "ci-bot", "x-tenant": "t1", "x-role": "scientist"]
    static func rotate(_ id: String = "r1", _ headers: [String: String] = bot) -> HTTPRequest {
        HTTPRequest("POST", "auth/keys/rotate", body: ["request_id": id], headers: headers)
    }
    static func token(_ key: String) -> HTTPRequest { HTTPRequest("POST", "auth/token", body: ["user": "ci-bot", "api_key": key]) }
    static let newKey = AuthService.rotatedKey(user: "ci-bot", requestID: "r1")

    /// After a rotation both keys work; a repeat of the rotation (same id) answers the same key and
    /// keeps the original as the previous key; past the grace period only the new key works.
    func testTheOldKeyWorksThroughTheGracePeriodAndTheNewOneAtOnce() {
        let outcome = ServiceHarness.run("auth", seconds: 120, [
            Self.rotate(), Self.token("k-ci-bot"), Self.token(Self.newKey), Self.rotate(),
            Self.token("k-ci-bot"), ServiceHarness.pause(milliseconds: AuthService.keyGraceSeconds * 1000), Self.token("k-ci-bot"), Self.token(Self.newKey),
        ])
        XCTAssertEqual(outcome.responses[0]?.body["api_key"], Self.newKey)
        XCTAssertEqual(outcome.responses[3]?.body["api_key"], Self.newKey, "a retried rotation answers the same key")
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 200, 200, 200, 200, nil, 401, 200])
        XCTAssertEqual(outcome.simulation.security.keyRotations.count, 1, "the repeat rotated nothing")
        XCTAssertEqual(outcome.simulation.security.keyPresentations.map(\.accepted), [true, true, true, false, true])
    }

    /// An id of an earlier rotation sent again is refused (409, logged) and changes nothing: the
    /// key of the latest rotation stays current; a retry of the latest rotation still answers its key.
    func testAnEarlierRotationsIdSentAgainIsRefusedAndChangesNothing() {
        let second = AuthService.rotatedKey(user: "ci-bot", requestID: "r2")
        let outcome = ServiceHarness.run("auth", seconds: 120, [
            Self.rotate("r1"), Self.rotate("r2"), Self.rotate("r1"), Self.rotate("r2"),
            ServiceHarness.pause(milliseconds: AuthService.keyGraceSeconds * 1000), Self.token(Self.newKey), Self.token(second),
        ])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 200, 409, 200, nil, 401, 200])
        XCTAssertEqual(outcome.responses[3]?.body["api_key"], second, "the latest rotation's retry answers its key")
        XCTAssertEqual(outcome.simulation.security.refusals.map { "\($0.caller) \($0.reason)" },
                       ["ci-bot@t1 rotation request id used by an earlier rotation", "anonymous(https://app.synapsenet.local) unknown user or key"],
                       "the reuse, then r1's key past its grace period")
        XCTAssertEqual(outcome.simulation.security.keyRotations.count, 2, "two rotations, the refused one not among them")
        XCTAssertEqual(outcome.view.rows("users_db", "SELECT rotation_id FROM users WHERE name = 'ci-bot'")?.first?.first?.text, "r2")
        XCTAssertEqual(outcome.view.rows("users_db", "SELECT request_id FROM key_rotations WHERE user = 'ci-bot' ORDER BY request_id")?.map { $0[0].plain }, ["r1", "r2"])
    }

    /// Rotation needs an identity (anonymous: 401) and a request id of 1-64 characters.
    func testARotationNeedsAnIdentityAndARequestID() {
        let outcome = ServiceHarness.run("auth", [ServiceHarness.bare(Self.rotate("r1", [:])), Self.rotate(""), Self.rotate(String(repeating: "x", count: 65))])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [401, 400, 400])
        XCTAssertEqual(outcome.view.rows("users_db", "SELECT rotation_id FROM users WHERE name = 'ci-bot'")?.first?.first?.text, nil)
    }

    /// G5: right after the rotation the old key is refused, before the client has the new one
    /// deployed; the rotation ledger and the refused presentation are what key-rotation judges.
    func testG5RefusesTheOldKeyAtOnce() {
        let outcome = ServiceHarness.run("auth", defects: DefectSet([.G5]), [Self.rotate(), Self.token("k-ci-bot"), Self.token(Self.newKey)])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 401, 200])
        let rotation = outcome.simulation.security.keyRotations.first
        XCTAssertEqual(rotation?.old, AuthService.keyHash("k-ci-bot"))
        XCTAssertEqual(outcome.simulation.security.keyPresentations.first?.digest, rotation?.old)
    }
}
