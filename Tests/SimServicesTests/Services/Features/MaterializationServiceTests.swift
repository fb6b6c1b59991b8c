import XCTest
@testable import SimKernel
@testable import SimServices

/// Materialization, online reads and freshness through the whole platform (`ServiceHarness`).
/// The harness's first request goes out about two seconds into the run (the features node's
/// clock reads about that), so rows here are stamped at one second: already past when
/// materialized, and inside TTLs and SLAs of several seconds until the test pauses past them.
final class MaterializationServiceTests: XCTestCase {
    typealias R = FeatureRequests
    let s = Nanos.second

    /// Before `features/materialize` an online miss reads through to the offline store (each
    /// entity's newest row); after it the values are online; an entity with no row is NOT_FOUND.
    func testAMissReadsThroughBeforeMaterializationAndTheValuesAreOnlineAfter() {
        let outcome = ServiceHarness.run("features", [
            R.register("demo", features: ["age", "plan"], categorical: ["plan"]),
            R.ingest("demo", [R.row("a", "u1", at: s / 2, ["30", "gold"]), R.row("b", "u1", at: s, ["31", "silver"]), R.row("c", "u2", at: s, ["40", "gold"])]),
            R.online("demo", ["u1", "u2"]),
            R.materialize("demo"),
            R.online("demo", ["u1", "u2", "u3"]),
        ])
        XCTAssertEqual(R.rows(outcome.responses[2]).map { [$0[0], $0[2], $0[3]] }, [["u1", "\(s)", "age=31;plan=silver"], ["u2", "\(s)", "age=40;plan=gold"]])
        XCTAssertEqual(outcome.responses[3]?.status, 200)
        XCTAssertEqual(outcome.responses[3]?.body["entities"], "2")
        let rows = R.rows(outcome.responses[4])
        XCTAssertEqual(rows.map { $0.count }, [4, 4, 2])
        XCTAssertEqual(rows.prefix(2).map { [$0[0], $0[2], $0[3]] }, [
            ["u1", "\(s)", "age=31;plan=silver"],
            ["u2", "\(s)", "age=40;plan=gold"],
        ])
        XCTAssertEqual(rows.last, ["u3", "NOT_FOUND"])
    }

    /// The online value carries the view's transforms after its raw features, computed from the row.
    func testMaterializedValuesIncludeTheTransforms() {
        let outcome = ServiceHarness.run("features", [
            R.register("demo", features: ["income", "age"], transforms: ["scaled=log1p(wealth)", "wealth=ratio(income age)"]),
            R.ingest("demo", [R.row("a", "u1", at: s, ["50", "25"])]),
            R.materialize("demo"),
            R.online("demo", ["u1"]),
        ])
        let wealth = 50.0 / 25.0, scaled = logarithm(1 + wealth)
        XCTAssertEqual(R.rows(outcome.responses[3]).first?.last, "income=50;age=25;scaled=\(scaled);wealth=\(wealth)")
    }

    /// A transform whose input is missing (a non-numeric value) is online as an empty value.
    func testATransformWithAMissingInputIsStoredEmpty() {
        let outcome = ServiceHarness.run("features", [
            R.register("demo", features: ["income", "age"], transforms: ["wealth=ratio(income age)"]),
            R.ingest("demo", [R.row("a", "u1", at: s, ["50", "unknown"])]),
            R.materialize("demo"),
            R.online("demo", ["u1"]),
        ])
        XCTAssertEqual(R.rows(outcome.responses[3]).first?.last, "income=50;age=unknown;wealth=")
    }

    /// A value served within the view's TTL (10 s) is NOT_FOUND once the row is older than it.
    func testAnOnlineValuePastTheViewsTTLIsNotFound() {
        let outcome = ServiceHarness.run("features", [
            R.register("short", features: ["a"], ttlMs: 10_000),
            R.ingest("short", [R.row("a", "u1", at: s, ["7"])]),
            R.materialize("short"),
            R.online("short", ["u1"]),
            ServiceHarness.pause(milliseconds: 10_000),
            R.online("short", ["u1"]),
        ])
        XCTAssertEqual(R.rows(outcome.responses[3]).first?.last, "a=7", "served within the TTL")
        XCTAssertEqual(R.rows(outcome.responses[5]), [["u1", "NOT_FOUND"]])
    }

    /// A row already older than the TTL when materialization runs is never put online.
    func testARowOlderThanTheTTLIsNotMaterialized() {
        let outcome = ServiceHarness.run("features", [
            R.register("short", features: ["a"], ttlMs: 500),
            R.ingest("short", [R.row("a", "u1", at: s / 1000, ["7"])]),
            R.materialize("short"),
        ])
        XCTAssertEqual(outcome.responses[2]?.body["entities"], "0")
    }

    /// A second run with no new rows writes nothing; a new row of one entity rewrites only that one.
    func testMaterializationIsIncremental() {
        let outcome = ServiceHarness.run("features", [
            R.register("demo", features: ["a"]),
            R.ingest("demo", [R.row("a", "u1", at: s, ["1"]), R.row("b", "u2", at: s, ["2"]), R.row("c", "u3", at: s, ["3"])]),
            R.materialize("demo"),
            R.materialize("demo"),
            R.ingest("demo", [R.row("d", "u2", at: s + 1, ["2b"])]),
            R.materialize("demo"),
            R.online("demo", ["u2"]),
        ])
        XCTAssertEqual(outcome.responses[2...5].map { $0?.status }, [200, 200, 200, 200])
        XCTAssertEqual([2, 3, 5].map { outcome.responses[$0]?.body["entities"] }, ["3", "0", "1"])
        XCTAssertEqual(R.rows(outcome.responses[6]).first?.last, "a=2b")
    }

    /// Stale (age -1) before any materialization, fresh right after, stale again once the newest
    /// value is older than the 5 s SLA.
    func testFreshnessIsStaleBeforeMaterializationFreshAfterAndStaleAgainPastTheSLA() {
        let outcome = ServiceHarness.run("features", [
            R.register("demo", features: ["a"], slaMs: 5_000),
            R.ingest("demo", [R.row("a", "u1", at: s, ["1"])]),
            R.freshness("demo"),
            R.materialize("demo"),
            R.freshness("demo"),
            ServiceHarness.pause(milliseconds: 5_000),
            R.freshness("demo"),
        ])
        let before = outcome.responses[2]?.body, after = outcome.responses[4]?.body, later = outcome.responses[6]?.body
        XCTAssertEqual(before?["age_ms"], "-1")
        XCTAssertEqual(before?["stale"], "true")
        XCTAssertEqual(before?["sla_ms"], "5000")
        XCTAssertEqual(after?["stale"], "false")
        let freshAge = Int64(after?["age_ms"] ?? "") ?? -1, laterAge = Int64(later?["age_ms"] ?? "") ?? -1
        XCTAssertTrue((0 ... 5_000).contains(freshAge), "age \(freshAge) ms")
        XCTAssertEqual(later?["stale"], "true")
        XCTAssertGreaterThanOrEqual(laterAge, freshAge + 5_000, "the age grows with the clock")
    }

    /// A row stored ahead of its event time is skipped until it comes due, then served: the online
    /// value follows the offline store's newest row by event time, even when a row stored later
    /// (a lower event time) went online first; a row that is not the newest is refused, not served.
    func testTheOnlineValueCatchesUpWithARowStoredAheadOfItsEventTime() {
        let s = Nanos.second
        typealias R = FeatureRequests
        let outcome = ServiceHarness.run("features", [
            R.register("demo", features: ["a"]),
            R.ingest("demo", [R.row("ahead", "u1", at: 4 * s, ["ahead"]), R.row("behind", "u1", at: s, ["behind"])]),
            R.materialize("demo"),                       // about 2 s: "ahead" has not happened yet
            R.online("demo", ["u1"]),
            ServiceHarness.pause(milliseconds: 3_000),
            R.ingest("demo", [R.row("late", "u1", at: 2 * s, ["late"])]),
            R.materialize("demo"),                       // about 5 s: "ahead" is due, and newest
            R.online("demo", ["u1"]),
            R.materialize("demo"),
        ])
        XCTAssertEqual(outcome.responses[2]?.body["entities"], "1")
        XCTAssertEqual(R.rows(outcome.responses[3]).first?.last, "a=behind")
        XCTAssertEqual(outcome.responses[6]?.status, 200)
        XCTAssertEqual(outcome.responses[6]?.body["entities"], "1")
        XCTAssertEqual(R.rows(outcome.responses[7]).first?.last, "a=ahead")
        XCTAssertEqual(outcome.responses[8]?.body["entities"], "0", "nothing changed since")
    }
}
