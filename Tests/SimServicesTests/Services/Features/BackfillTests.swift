import XCTest
@testable import SimKernel
@testable import SimServices

/// Backfills of a view's history: staged in one transaction, loaded part by part by parallel
/// loaders, complete when the last part is; joins that meet a loading backfill wait (409).
final class BackfillTests: XCTestCase {
    typealias R = FeatureRequests
    let s = Nanos.second

    /// `count` rows of entities u1...u6 at 1 s, 2 s, ... (row i belongs to u(i mod 6 + 1)).
    func history(_ count: Int) -> [OfflineStore.IncomingRow] {
        (1 ... count).map { R.row("b\($0)", "u\($0 % 6 + 1)", at: Int64($0) * s, ["\($0)"]) }
    }

    /// Each of u1...u6 as of `t`.
    func everyone(at t: Int64) -> HTTPRequest { R.historical("h", (1 ... 6).map { ("u\($0)", t) }) }

    /// The event time (ns) joined per entity, or NOT_FOUND.
    func joined(_ response: HTTPResponse?) -> [String] { R.rows(response).map { $0.count > 2 ? $0[2] : $0[1] } }

    func testTheBackfillIsAnsweredAtOnceWithItsParts() {
        let outcome = ServiceHarness.run("features", [R.register("h", features: ["x"]), R.backfill("h", request: "r1", history(60))])
        XCTAssertEqual(outcome.responses[1]?.status, 200)
        XCTAssertEqual(outcome.responses[1]?.body["parts"], "3", "60 rows in parts of 25")
        XCTAssertEqual(outcome.responses[1]?.body["state"], "loading")
    }

    /// Once loaded, every entity's newest backfilled row is joined (u1's is row 60, u2's row 55...).
    func testALoadedBackfillIsJoinedWhole() {
        let outcome = ServiceHarness.run("features", [R.register("h", features: ["x"]), R.backfill("h", request: "r1", history(60)), R.pause(3000), everyone(at: 61 * s)])
        XCTAssertEqual(outcome.responses[3]?.status, 200)
        XCTAssertEqual(joined(outcome.responses[3]), [60, 55, 56, 57, 58, 59].map { "\(Int64($0) * s)" })
    }

    /// Right after the backfill is staged, a join whose window meets its range is refused (409).
    func testAJoinMeetingALoadingBackfillWaits() {
        let outcome = ServiceHarness.run("features", [R.register("h", features: ["x"]), R.backfill("h", request: "r1", history(60)), everyone(at: 61 * s)])
        XCTAssertEqual(outcome.responses[2]?.status, 409)
        XCTAssertTrue(outcome.responses[2]?.body["error"]?.hasPrefix("view h: backfill #1 of 1.000s-60.000s is loading (0 of 3 parts)") ?? false,
                      "\(String(describing: outcome.responses[2]?.body))")
    }

    /// A join whose window [t - ttl, t] ends before the backfill's range is answered meanwhile.
    func testAJoinBeforeTheBackfillsRangeIsAnswered() {
        let outcome = ServiceHarness.run("features", [R.register("h", features: ["x"]), R.backfill("h", request: "r1", history(60)), everyone(at: s / 2)])
        XCTAssertEqual(outcome.responses[2]?.status, 200)
        XCTAssertEqual(joined(outcome.responses[2]), Array(repeating: "NOT_FOUND", count: 6))
    }

    /// The same request sent twice names the same backfill, and its rows are stored once.
    func testARetriedBackfillStagesNothingTwice() {
        let outcome = ServiceHarness.run("features", [
            R.register("h", features: ["x"]), R.backfill("h", request: "r1", history(30)), R.backfill("h", request: "r1", history(30)), R.pause(3000),
            R.ingest("h", history(30)),
        ])
        XCTAssertEqual(outcome.responses[1]?.body["backfill"], "1")
        XCTAssertEqual(outcome.responses[2]?.body["backfill"], "1")
        XCTAssertEqual(outcome.responses[4]?.body["stored"], "0", "every backfilled row is already stored, once")
        XCTAssertEqual(outcome.simulation.features.backfills.count, 1, "one staging observed")
    }

    /// Polls the join of everyone every 10 ms from the staging on: the answers (200 or 409) in
    /// order, and the final answer 3 s later.
    func poll(seed: UInt64, defects: DefectSet) -> (answers: [HTTPResponse?], final: [String]) {
        let polls = (0 ..< 40).flatMap { _ in [everyone(at: 401 * s), R.pause(10)] }
        let outcome = ServiceHarness.run("features", seed: seed, defects: defects,
                                         [R.register("h", features: ["x"]), R.backfill("h", request: "r1", history(400))] + polls + [R.pause(3000), everyone(at: 401 * s)])
        let answers = outcome.responses.dropFirst(2).dropLast(2).enumerated().filter { $0.offset % 2 == 0 }.map(\.element)
        return (answers, joined(outcome.responses.last!))
    }

    /// Without C5, every join answered during the load is the complete one; the others wait.
    func testEveryJoinAnsweredDuringALoadIsComplete() {
        let (answers, final) = poll(seed: 1, defects: .empty)
        XCTAssertEqual(final.count, 6)
        XCTAssertTrue(answers.contains { $0?.status == 409 }, "the load takes a while: some joins waited")
        for answer in answers where answer?.status == 200 { XCTAssertEqual(joined(answer), final) }
    }

    /// With C5 the first loader to finish declares the backfill complete: over seeds 1-5, some
    /// join is answered over part of the history (an entity's newest row not loaded yet).
    func testC5AnswersAJoinOverAPartialBackfill() {
        let partial = (1 ... 5).contains { seed in
            let (answers, final) = poll(seed: UInt64(seed), defects: DefectSet([.C5]))
            return answers.contains { $0?.status == 200 && joined($0) != final }
        }
        XCTAssertTrue(partial, "no partial answer in five seeds")
    }
}
