import XCTest
@testable import SimKernel
@testable import SimServices

/// Artifact keys made safe: the traversal spellings an attacker tries are refused, harmless
/// spellings are normalised, and I9's path resolution lets the traversals out of the bucket.
final class ArtifactKeyTests: XCTestCase {
    let secret = "checkpoints/secret"

    /// Each attack case: the key, and the reason it is refused.
    let attacks: [(String, String)] = [
        ("../checkpoints/secret", "traversal (..)"),
        ("..%2fcheckpoints%2fsecret", "traversal (..)"),
        ("%2e%2e/checkpoints/secret", "traversal (..)"),
        ("%2E%2E%2Fcheckpoints%2Fsecret", "traversal (..)"),
        ("a/../../checkpoints/secret", "traversal (..)"),
        ("./../checkpoints/secret", "traversal (..)"),
        ("a/./../../checkpoints/secret", "traversal (..)"),
        ("..//checkpoints//secret", "traversal (..)"),
        ("a/b/../../../checkpoints/secret", "traversal (..)"),
        ("%252e%252e%252fcheckpoints", "encoded twice"),
        ("..\\checkpoints\\secret", "backslash"),
        ("a\\..\\..\\checkpoints", "backslash"),
        ("/checkpoints/secret", "absolute path"),
        ("%2fcheckpoints%2fsecret", "absolute path"),
        ("a/%00/../../checkpoints/secret", "control character"),
        ("a\u{0}b", "control character"),
        ("a\nb", "control character"),
        ("%zz", "malformed percent-encoding"),
        ("%2", "malformed percent-encoding"),
        ("%ff%fe", "malformed percent-encoding"),
        ("", "empty or longer than 512 bytes"),
        (String(repeating: "a", count: 513), "empty or longer than 512 bytes"),
        ("./.", "no name left"),
        ("..", "traversal (..)"),
    ]

    func testEveryTraversalSpellingIsRefusedWithItsReason() {
        for (key, reason) in attacks {
            XCTAssertEqual(ArtifactKeys.resolve(key), .refused(reason), "key \(key.debugDescription)")
        }
    }

    func testHarmlessSpellingsNormaliseToTheSameKey() {
        for key in ["reports/q3", "./reports/q3", "reports//q3", "reports/./q3", "reports%2Fq3", "reports/q3/", "%72eports/q3"] {
            XCTAssertEqual(ArtifactKeys.resolve(key), .object(bucket: "artifacts", key: "reports/q3"), "key \(key)")
        }
    }

    /// A name that merely contains dots is not a traversal.
    func testDotsInsideANameAreKept() {
        XCTAssertEqual(ArtifactKeys.resolve("models/v1..2/weights.bin"), .object(bucket: "artifacts", key: "models/v1..2/weights.bin"))
        XCTAssertEqual(ArtifactKeys.resolve("...hidden"), .object(bucket: "artifacts", key: "...hidden"))
    }

    /// Under a tenant's folder a safe key stays in it; I9 resolves the key as a path from the
    /// folder, so one `..` reaches another tenant's folder and two another bucket.
    func testAKeyUnderATenantsFolderStaysThereAndI9ClimbsOut() {
        XCTAssertEqual(ArtifactKeys.resolve("./reports//q3", under: "t2"), .object(bucket: "artifacts", key: "t2/reports/q3"))
        XCTAssertEqual(ArtifactKeys.resolve("../t1/reports/q3", under: "t2"), .refused("traversal (..)"))
        let defects = DefectSet([.I9])
        XCTAssertEqual(ArtifactKeys.resolve("../t1/reports/q3", under: "t2", defects: defects), .object(bucket: "artifacts", key: "t1/reports/q3"))
        XCTAssertEqual(ArtifactKeys.resolve("../../checkpoints/secret", under: "t2", defects: defects), .object(bucket: "checkpoints", key: "secret"))
        XCTAssertEqual(ArtifactKeys.resolve("reports/q3", under: "t2", defects: defects), .object(bucket: "artifacts", key: "t2/reports/q3"))
    }

    /// Separators are bytes: a combining mark after `/` or `\\` (one Character with it) does not
    /// hide the separator, so `../\u{301}x` is a traversal and `..\\\u{301}x` holds a backslash.
    func testACombiningMarkCannotHideASeparator() {
        XCTAssertEqual(ArtifactKeys.resolve("../\u{301}x", under: "t2"), .refused("traversal (..)"))
        XCTAssertEqual(ArtifactKeys.resolve("..\\\u{301}x", under: "t2"), .refused("backslash"))
        XCTAssertEqual(ArtifactKeys.resolve("/\u{301}x"), .refused("absolute path"))
        XCTAssertEqual(ArtifactKeys.resolve("a/\u{301}b"), .object(bucket: "artifacts", key: "a/\u{301}b"))
    }

    /// I9 resolves keys as paths under the storage root: the traversals land in another bucket.
    func testI9LetsTraversalsOutOfTheBucket() {
        let defects = DefectSet([.I9])
        XCTAssertEqual(ArtifactKeys.resolve("../checkpoints/secret", defects: defects), .object(bucket: "checkpoints", key: "secret"))
        XCTAssertEqual(ArtifactKeys.resolve("..%2fcheckpoints%2fsecret", defects: defects), .object(bucket: "checkpoints", key: "secret"))
        XCTAssertEqual(ArtifactKeys.resolve("a/../../checkpoints/secret", defects: defects), .object(bucket: "checkpoints", key: "secret"))
        XCTAssertEqual(ArtifactKeys.resolve("reports/q3", defects: defects), .object(bucket: "artifacts", key: "reports/q3"))
    }

    /// Through the platform: a traversal download is refused (400) and logged as a security event
    /// on Kafka before the answer; the artifact itself downloads.
    func testATraversalDownloadIsRefusedAndLogged() {
        let outcome = ServiceHarness.run("storage", [
            HTTPRequest("PUT", "storage/artifacts", body: ["key": "reports/q3", "content": "numbers"]),
            HTTPRequest("GET", "storage/artifacts", body: ["key": "../checkpoints/x"]),
            HTTPRequest("GET", "storage/artifacts", body: ["key": "./reports//q3"]),
        ])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 400, 200])
        XCTAssertEqual(outcome.responses[1]?.body["error"], "refused: artifact key: traversal (..)")
        XCTAssertEqual(outcome.responses[2]?.body["content"], "numbers")
        let refusals = outcome.simulation.security.refusals
        XCTAssertEqual(refusals.map(\.reason), ["artifact key: traversal (..)"])
        XCTAssertEqual(refusals.first?.detail, "../checkpoints/x")
        XCTAssertEqual(refusals.first?.service, "storage")
        XCTAssertEqual(outcome.simulation.security.downloads.map { "\($0.bucket)/\($0.key)" }, ["artifacts/t1/reports/q3"])
    }

    /// With I9 the same traversal is served from the other bucket (404 here: no such object, but
    /// looked up in `checkpoints`), and nothing is logged.
    func testI9LooksTheTraversalUpInAnotherBucket() {
        let outcome = ServiceHarness.run("storage", defects: DefectSet([.I9]), [HTTPRequest("GET", "storage/artifacts", body: ["key": "../checkpoints/x"])])
        XCTAssertEqual(outcome.responses.first??.status, 404)
        XCTAssertTrue(outcome.simulation.security.refusals.isEmpty)
    }
}
