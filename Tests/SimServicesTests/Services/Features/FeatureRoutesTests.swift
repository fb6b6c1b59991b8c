import XCTest
@testable import SimKernel
@testable import SimServices

/// The feature store's routes through the whole platform (`ServiceHarness`): registration,
/// ingestion, point-in-time joins and single values. Event times are fixed instants of the
/// rows sent; joins ask at instants relative to them.
final class FeatureRoutesTests: XCTestCase {
    typealias R = FeatureRequests
    let s = Nanos.second

    /// The answer's `order` lists the transforms topologically (`total` before its reader `scaled`).
    func testRegisterAnswersTheTransformsInTheOrderTheyAreComputed() {
        let outcome = ServiceHarness.run("features", [R.register("v", features: ["a", "b"], transforms: ["scaled=log1p(total)", "total=sum(a b)"])])
        XCTAssertEqual(outcome.responses.first??.status, 200)
        XCTAssertEqual(outcome.responses.first??.body["order"], "total,scaled")
    }

    /// View and feature names travel inside `|`- and `;`-separated records (offline rows, alerts):
    /// a name with a separator, a space or no character at all is refused 400 naming it, and no
    /// view is stored; a plain name (letters, digits, `_`, `-`, `.`) is taken.
    func testANameThatIsNotPlainIsRefused() {
        let outcome = ServiceHarness.run("features", [
            R.register("v|t2", features: ["a"]), R.register("v", features: ["a;b"]), R.register("v", features: ["a b"]),
            R.register("v", features: ["a"], categorical: ["c|d"]), R.register("user_profile-v2.1", features: ["age", "income_k"]),
        ])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [400, 400, 400, 400, 200])
        XCTAssertEqual(outcome.responses[0]?.body["error"], "'v|t2' is not a name: 1-64 letters, digits, '_', '-' or '.'")
        XCTAssertFalse(FeatureView.isPlainName(""))
        XCTAssertFalse(FeatureView.isPlainName(String(repeating: "a", count: 65)))
        XCTAssertTrue(FeatureView.isPlainName(String(repeating: "a", count: 64)))
    }

    func testRegisteringACyclicViewIs422() {
        let outcome = ServiceHarness.run("features", [R.register("loop", features: ["f"], transforms: ["a=sum(b f)", "b=log1p(a)"])])
        XCTAssertEqual(outcome.responses.first??.status, 422)
        XCTAssertTrue(outcome.responses.first??.body["error"]?.contains(FeatureView.cycleProblem) ?? false, "\(String(describing: outcome.responses.first))")
    }

    /// C8's validator lets the same cyclic view in.
    func testC8RegistersTheCyclicView() {
        let outcome = ServiceHarness.run("features", defects: DefectSet([.C8]), [R.register("loop", features: ["f"], transforms: ["a=sum(b f)", "b=log1p(a)"])])
        XCTAssertEqual(outcome.responses.first??.status, 200)
    }

    /// `stored` counts new rows: the same rows sent again store nothing.
    func testIngestStoresEachSourceOnce() {
        let rows = [R.row("s1", "u1", at: s, ["1"]), R.row("s2", "u2", at: s, ["2"])]
        let outcome = ServiceHarness.run("features", [R.register("v", features: ["a"]), R.ingest("v", rows), R.ingest("v", rows)])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 200, 200])
        XCTAssertEqual(outcome.responses.map { $0?.body["stored"] }, [nil, "2", "0"])
    }

    /// A row with one value for a two-feature view is 400, and no row of the batch is stored.
    func testIngestRefusesARowWithTheWrongNumberOfValues() {
        let outcome = ServiceHarness.run("features", [
            R.register("v", features: ["a", "b"]),
            R.ingest("v", [R.row("good", "u1", at: s, ["1", "2"]), R.row("short", "u2", at: s, ["1"])]),
            R.historical("v", [("u1", 2 * s)]),
        ])
        XCTAssertEqual(outcome.responses[1]?.status, 400)
        XCTAssertEqual(R.rows(outcome.responses[2]), [["u1", "NOT_FOUND"]], "the valid row of the refused batch was not stored")
    }

    func testIngestToAnUnknownViewIs404() {
        let outcome = ServiceHarness.run("features", [R.ingest("nowhere", [R.row("s1", "u1", at: s, ["1"])])])
        XCTAssertEqual(outcome.responses.first??.status, 404)
    }

    /// A malformed row (an offset beyond 14 h) is 400.
    func testIngestRefusesAMalformedRow() {
        let outcome = ServiceHarness.run("features", [
            R.register("v", features: ["a"]),
            R.ingest("v", [OfflineStore.IncomingRow(source: "s1", entity: "u1", localTime: s, offsetMinutes: 900, values: ["1"])]),
        ])
        XCTAssertEqual(outcome.responses[1]?.status, 400)
    }

    /// Each (entity, as_of) gets the entity's newest row at or before its instant, values named.
    func testHistoricalReturnsTheNewestRowPerEntityAsOfT() {
        let outcome = ServiceHarness.run("features", [
            R.register("demo", features: ["age", "income"]),
            R.ingest("demo", [R.row("a", "u1", at: 10 * s, ["30", "100"]), R.row("b", "u1", at: 20 * s, ["31", "110"]), R.row("c", "u2", at: 15 * s, ["40", "200"])]),
            R.historical("demo", [("u1", 25 * s), ("u1", 19 * s), ("u2", 25 * s), ("u1", 20 * s)]),
        ])
        XCTAssertEqual(outcome.responses[2]?.status, 200)
        let rows = R.rows(outcome.responses[2])
        XCTAssertEqual(rows.map { $0.count }, [4, 4, 4, 4])
        XCTAssertEqual(rows.map { [$0[0], $0[2], $0[3]] }, [
            ["u1", "\(20 * s)", "age=31;income=110"],
            ["u1", "\(10 * s)", "age=30;income=100"],
            ["u2", "\(15 * s)", "age=40;income=200"],
            ["u1", "\(20 * s)", "age=31;income=110"],
        ])
        XCTAssertNotEqual(rows[0][1], rows[1][1], "two rows, two versions")
        XCTAssertEqual(rows[0][1], rows[3][1])
    }

    /// As of one nanosecond before an entity's first row, and for an entity with no rows: NOT_FOUND.
    func testHistoricalIsNotFoundBeforeAnEntitysFirstRow() {
        let outcome = ServiceHarness.run("features", [
            R.register("demo", features: ["age"]),
            R.ingest("demo", [R.row("a", "u1", at: 10 * s, ["30"])]),
            R.historical("demo", [("u1", 10 * s - 1), ("nobody", 20 * s), ("u1", 10 * s)]),
        ])
        let rows = R.rows(outcome.responses[2])
        XCTAssertEqual(rows.count, 3)
        XCTAssertEqual(rows.first, ["u1", "NOT_FOUND"])
        XCTAssertEqual(rows.dropFirst().first, ["nobody", "NOT_FOUND"])
        XCTAssertEqual(rows.last?.first, "u1")
        XCTAssertEqual(rows.last?.last, "age=30")
    }

    /// A UTC-5 row stamped at local 10 s is joined from 10 s + 5 h on.
    func testHistoricalJoinsAUTCMinusFiveRowAtItsUTCTime() {
        let remote = OfflineStore.IncomingRow(source: "r1", entity: "u1", localTime: 10 * s, offsetMinutes: -300, values: ["7"])
        let utc = 10 * s + 5 * Nanos.hour
        let outcome = ServiceHarness.run("features", [
            R.register("demo", features: ["age"], ttlMs: 24 * 3_600_000),
            R.ingest("demo", [remote]),
            R.historical("demo", [("u1", 10 * s), ("u1", utc - 1), ("u1", utc)]),
        ])
        let rows = R.rows(outcome.responses[2])
        XCTAssertEqual(rows.prefix(2).map { $0 }, [["u1", "NOT_FOUND"], ["u1", "NOT_FOUND"]])
        XCTAssertEqual(rows.last?[2], "\(utc)")
    }

    /// One instant per entity is required: a short as_of list is 400.
    func testHistoricalWithoutAnInstantPerEntityIs400() {
        let outcome = ServiceHarness.run("features", [
            R.register("demo", features: ["age"]),
            HTTPRequest("POST", "features/historical", body: ["view": "demo", "entities": "u1,u2", "as_of": "\(s)"]),
        ])
        XCTAssertEqual(outcome.responses[1]?.status, 400)
    }

    /// Three values for one entity get versions 1, 2, 3; each answer reads back the value just written.
    func testPutValuesVersionsIncreaseOneTwoThree() {
        let outcome = ServiceHarness.run("features", ["0.1", "0.2", "0.3"].map { HTTPRequest("PUT", "features/values", body: ["entity": "user-9", "value": $0]) })
        XCTAssertEqual(outcome.responses.map { $0?.body["version"] }, ["1", "2", "3"])
        XCTAssertEqual(outcome.responses.map { $0?.body["value"] }, ["0.1", "0.2", "0.3"])
    }
}
