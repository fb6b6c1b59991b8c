import Foundation
import XCTest
@testable import SimKernel
@testable import SimServices

/// Experiment tracking through the real service (SQLite experiments_db, the object store), one
/// platform per test, requests straight to the experiments service.
final class ExperimentTrackingTests: XCTestCase {
    static let rows = "1.5,-2.0,1.0\n0.25,3.0,0.0\n"

    func run(_ requests: [HTTPRequest], defects: DefectSet = .empty) -> ServiceHarness.Outcome {
        ServiceHarness.run("experiments", defects: defects, requests)
    }

    func create(_ key: String, experiment: String = "exp", params: [String: String] = [:]) -> HTTPRequest {
        var body = ["run_key": key, "experiment": experiment, "seed": "42", "lr": "0.1"]
        for (name, value) in params { body["param.\(name)"] = value }
        return HTTPRequest("POST", "experiments/runs", body: body)
    }

    func log(_ run: Int, step: Int, _ values: [String: Double], at millis: Int64, attempt: Int = 1) -> HTTPRequest {
        var body = ["run": "\(run)", "step": "\(step)", "timestamp_ms": "\(millis)", "attempt": "\(attempt)"]
        for (key, value) in values { body["metric.\(key)"] = "\(value)" }
        return HTTPRequest("POST", "experiments/metrics", body: body)
    }

    // MARK: datasets

    func testADatasetVersionIsNamedByTheSHA256OfItsRows() {
        let outcome = run([HTTPRequest("PUT", "experiments/datasets", body: ["name": "clicks", "rows": Self.rows])])
        XCTAssertEqual(outcome.responses[0]?.status, 200)
        XCTAssertEqual(outcome.responses[0]?.body["digest"], SHA256.hex(SHA256.hash(Array(Self.rows.utf8))))
        XCTAssertEqual(outcome.responses[0]?.body["rows"], "2")
    }

    func testStoringTheSameRowsAgainIsTheSameVersion() {
        let put = HTTPRequest("PUT", "experiments/datasets", body: ["name": "clicks", "rows": Self.rows])
        let outcome = run([put, put])
        XCTAssertEqual(outcome.responses[0]?.body["digest"], outcome.responses[1]?.body["digest"])
        XCTAssertEqual(outcome.view.rows("experiments_db", "SELECT COUNT(*) FROM dataset_versions")?.first?.first?.integer, 1)
    }

    func testADatasetVersionKeepsItsBytesInTheObjectStore() {
        let outcome = run([HTTPRequest("PUT", "experiments/datasets", body: ["name": "clicks", "rows": Self.rows])])
        XCTAssertEqual(outcome.responses[0]?.body["object"], "datasets/" + SHA256.hex(SHA256.hash(Array(Self.rows.utf8))))
    }

    func testAnUnknownDigestIsNotFound() {
        let outcome = run([HTTPRequest("GET", "experiments/datasets", body: ["digest": String(repeating: "0", count: 64)])])
        XCTAssertEqual(outcome.responses[0]?.status, 404)
    }

    func testRowsThatAreNotADatasetAreRefused() {
        let outcome = run([HTTPRequest("PUT", "experiments/datasets", body: ["name": "bad", "rows": "1,2,7\n"]),
                           HTTPRequest("GET", "experiments/datasets", body: ["digest": "not-hex"])])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [400, 400])
    }

    // MARK: attempts

    /// A superseded attempt (a worker taken for dead, still training) cannot finish the run once
    /// the latest attempt has logged; the latest can.
    func testASupersededAttemptCannotFinishOnceALaterOneLogged() {
        func finish(_ attempt: Int) -> HTTPRequest {
            HTTPRequest("POST", "experiments/runs/finish", body: ["run": "1", "status": "finished", "result": "by \(attempt)", "attempt": "\(attempt)"])
        }
        let outcome = run([create("r"), log(1, step: 0, ["loss": 0.5], at: 1000, attempt: 2), finish(1), finish(2), finish(1)])
        XCTAssertEqual(outcome.responses[2]?.body["status"], "running")
        XCTAssertEqual(outcome.responses[3]?.body["status"], "finished")
        XCTAssertEqual(outcome.responses[4]?.body["result"], "by 2")
    }

    // MARK: parameters

    func testAParameterIsWriteOnce() {
        let outcome = run([create("a"), HTTPRequest("POST", "experiments/params", body: ["run": "1", "key": "lr", "value": "0.9"]),
                           HTTPRequest("GET", "experiments/params", body: ["run": "1"])])
        XCTAssertEqual(outcome.responses[1]?.status, 409)
        XCTAssertEqual(outcome.responses[2]?.body["param.lr"], "0.1")
    }

    func testWritingTheSameValueAgainIsAnIdempotentRetry() {
        let write = HTTPRequest("POST", "experiments/params", body: ["run": "1", "key": "dropout", "value": "0.1"])
        let outcome = run([create("a"), write, write])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 200, 200])
    }

    func testAParameterOfAMissingRunIsNotFound() {
        let outcome = run([HTTPRequest("POST", "experiments/params", body: ["run": "9", "key": "lr", "value": "1"])])
        XCTAssertEqual(outcome.responses[0]?.status, 404)
    }

    func testARunIsCreatedWithAllItsParameters() {
        let outcome = run([create("a", params: ["epochs": "4", "seed": "42"]), HTTPRequest("GET", "experiments/params", body: ["run": "1"])])
        XCTAssertEqual(outcome.responses[1]?.body["param.epochs"], "4")
        XCTAssertEqual(outcome.responses[1]?.body["param.seed"], "42")
        XCTAssertEqual(outcome.responses[1]?.body["param.lr"], "0.1")
    }

    // MARK: metrics

    func testMetricsReadBackWithISO8601UTCTimestamps() {
        let at = MetricLog.clockOrigin + 1_250
        let outcome = run([create("a"), log(1, step: 0, ["loss": 0.5], at: at), HTTPRequest("GET", "experiments/metrics", body: ["run": "1"])])
        XCTAssertEqual(outcome.responses[2]?.body["points"], "loss,0,0.5,2026-01-01T00:00:01.250Z")
    }

    func testAResentPointKeepsItsFirstValue() {
        let outcome = run([create("a"), log(1, step: 3, ["loss": 0.5], at: MetricLog.clockOrigin), log(1, step: 3, ["loss": 0.7], at: MetricLog.clockOrigin + 5),
                           HTTPRequest("GET", "experiments/metrics", body: ["run": "1"])])
        XCTAssertEqual(outcome.responses[3]?.body["count"], "1")
        XCTAssertTrue(outcome.responses[3]?.body["points"]?.hasPrefix("loss,3,0.5,") ?? false)
    }

    func testALaterAttemptReplacesAnEarlierAttemptsPoint() {
        let outcome = run([create("a"), log(1, step: 3, ["loss": 0.5], at: MetricLog.clockOrigin, attempt: 1),
                           log(1, step: 3, ["loss": 0.7], at: MetricLog.clockOrigin + 9000, attempt: 2),
                           log(1, step: 3, ["loss": 0.9], at: MetricLog.clockOrigin + 9500, attempt: 1),
                           HTTPRequest("GET", "experiments/metrics", body: ["run": "1"])])
        XCTAssertEqual(outcome.responses[4]?.body["points"], "loss,3,0.7,2026-01-01T00:00:09.000Z")
    }

    func testEachAttemptGetsTheNextNumber() {
        let attempt = HTTPRequest("POST", "experiments/runs/attempt", body: ["run": "1"])
        let outcome = run([create("a"), attempt, attempt])
        XCTAssertEqual(outcome.responses.compactMap { $0?.body["attempt"] }, ["1", "2"])
    }

    func testTheBlobFormatKeepsEachPointsStepValueTimeAndAttempt() {
        let points = MetricLog.parse("loss|0|0.5|10|1;lr|3|0.1|12|2")
        XCTAssertEqual(points, [MetricLog.Point(key: "loss", step: 0, value: 0.5, timestampMillis: 10, attempt: 1),
                                MetricLog.Point(key: "lr", step: 3, value: 0.1, timestampMillis: 12, attempt: 2)])
    }

    func testAnISO8601TimestampOfALeapDay() {
        // 2028-02-29T12:00:00.007Z: 21,243 days after 1970-01-01, worked out with `date -u -d`.
        XCTAssertEqual(MetricLog.iso8601(21_243 * 86_400_000 + 12 * 3_600_000 + 7), "2028-02-29T12:00:00.007Z")
        XCTAssertEqual(MetricLog.iso8601(0), "1970-01-01T00:00:00.000Z")
        XCTAssertEqual(MetricLog.iso8601(MetricLog.clockOrigin), "2026-01-01T00:00:00.000Z")
    }

    // MARK: comparison

    func comparisonRequests() -> [HTTPRequest] {
        [create("a", params: ["epochs": "4", "batch": "32"]), create("b", params: ["epochs": "8", "batch": "32"]), create("c", params: ["epochs": "8", "batch": "32"]),
         log(1, step: 0, ["auc": 0.7], at: MetricLog.clockOrigin), log(1, step: 1, ["auc": 0.8], at: MetricLog.clockOrigin + 1),
         log(2, step: 0, ["auc": 0.91], at: MetricLog.clockOrigin), log(2, step: 1, ["auc": 0.9], at: MetricLog.clockOrigin + 1),
         log(3, step: 0, ["auc": 0.85], at: MetricLog.clockOrigin),
         HTTPRequest("GET", "experiments/compare", body: ["experiment": "exp", "metric": "auc", "goal": "max"])]
    }

    func testTheComparisonRanksRunsByTheirBestValue() {
        let outcome = run(comparisonRequests())
        XCTAssertEqual(outcome.responses.last??.body["best"], "2")
        XCTAssertEqual(outcome.responses.last??.body["ranking"], "2=0.91=0.9;3=0.85=0.85;1=0.8=0.8")
    }

    func testTheComparisonRanksTheParametersThatDiffer() {
        // epochs 4 -> 0.8, epochs 8 -> mean(0.91, 0.85) = 0.88: spread 0.08; batch is shared, left out.
        let outcome = run(comparisonRequests())
        let differing = (outcome.responses.last??.body["differing"] ?? "").split(separator: ";").map { $0.split(separator: ":").map(String.init) }
        XCTAssertEqual(differing.map { $0[0] }, ["epochs"])
        XCTAssertEqual(Double(differing.first?.last ?? "") ?? 0, 0.08, accuracy: 1e-12)
    }

    func testTheComparisonReadsThreeRunsInThreeStatements() {
        let outcome = run(comparisonRequests())
        XCTAssertEqual(outcome.simulation.experiments.comparisons.map(\.statements), [3])
    }

    func testTheNPlusOneComparisonGrowsWithTheRuns() {
        let outcome = run(comparisonRequests(), defects: DefectSet([.E6]))
        XCTAssertEqual(outcome.simulation.experiments.comparisons.map(\.statements), [7])
        XCTAssertEqual(outcome.responses.last??.body["best"], "2")
    }

    func testFloatEqualityNamesTheFirstRunWhenTheBestHasNoFloatForm() {
        let outcome = run(comparisonRequests(), defects: DefectSet([.E2]))
        XCTAssertEqual(outcome.responses.last??.body["best"], "1")  // 0.91 is not a Float
    }

    // MARK: search

    func searchRequests(_ filters: [String]) -> [HTTPRequest] {
        [create("a", params: ["epochs": "4"]), create("b", params: ["epochs": "8"]),
         HTTPRequest("POST", "experiments/tags", body: ["run": "1", "key": "team", "value": "ml"]),
         HTTPRequest("POST", "experiments/tags", body: ["run": "2", "key": "team", "value": "it's"])]
            + filters.map { HTTPRequest("GET", "experiments/runs/search", body: ["experiment": "exp", "filter": $0]) }
    }

    func testASearchReturnsTheRunsMatchingEveryClause() {
        let outcome = run(searchRequests(["tag.team = 'ml'", "param.epochs = '8'", "param.lr = '0.1' AND tag.team = 'ml'"]))
        XCTAssertEqual(outcome.responses.suffix(3).map { $0?.body["runs"] }, ["1", "2", "1"])
    }

    func testADoubledQuoteInAValueIsOneQuote() {
        let outcome = run(searchRequests(["tag.team = 'it''s'"]))
        XCTAssertEqual(outcome.responses.last??.body["runs"], "2")
    }

    func testAnInjectedFilterIsRefused() {
        let outcome = run(searchRequests(["tag.team = 'nobody' OR '1'='1'"]))
        XCTAssertEqual(outcome.responses.last??.status, 400)
    }

    func testTheSplicingSearchReturnsEveryRunForAnInjectedFilter() {
        let outcome = run(searchRequests(["tag.team = 'nobody' OR '1'='1'"]), defects: DefectSet([.E8]))
        XCTAssertEqual(outcome.responses.last??.body["runs"], "1,2")
    }

    func testASearchIsAnsweredByTheIndexNotTheDatabase() {
        let search = HTTPRequest("GET", "experiments/runs/search", body: ["experiment": "exp", "filter": "tag.team = 'ml'"])
        let outcome = run(searchRequests([]) + [search, ServiceHarness.crash(node: "search"), search])
        XCTAssertEqual(outcome.responses[4]?.body["runs"], "1")
        // The database still answers, the index does not: the search fails.
        XCTAssertEqual(outcome.responses[6]?.status, 503)
    }

    func testTheIndexHoldsEachRunsTagsAndParametersUnderItsRevision() {
        let outcome = run(searchRequests([]))
        // The search server's translog: the last document indexed for run 2.
        let search = outcome.platform.node("search")!
        let entries = outcome.simulation.inspect { RecordLog.decodeAll((try? search.disk.readAll("translog")) ?? []) }
            .compactMap { try? JSONCoding.decoder.decode(SearchServer.TranslogEntry.self, from: Data($0)).request }
        let last = entries.last { if case .indexVersion(_, "2", _, _) = $0 { return true }; return false }
        // Created (revision 1), then tagged (revision 2): indexed under the external version 2.
        XCTAssertEqual(last, .indexVersion(RunSearch.index, id: "2", document: ["experiment": "exp", "seed": "42", "param.lr": "0.1", "param.epochs": "8", "tag.team": "it's"], version: 2))
        XCTAssertEqual(outcome.view.rows("experiments_db", "SELECT search_revision FROM runs WHERE id = 2")?.first?.first?.integer, 2)
    }

    func testARetaggedRunIsFoundOnlyByItsNewTag() {
        let outcome = run(searchRequests([]) + [HTTPRequest("POST", "experiments/tags", body: ["run": "1", "key": "team", "value": "research"])]
            + ["tag.team = 'ml'", "tag.team = 'research'"].map { HTTPRequest("GET", "experiments/runs/search", body: ["experiment": "exp", "filter": $0]) })
        XCTAssertEqual(outcome.responses.suffix(2).map { $0?.body["runs"] }, ["", "1"])
    }

    func testADeletedRunIsNotReturnedThoughTheIndexStillHoldsIt() {
        let outcome = run(searchRequests([]) + [HTTPRequest("POST", "experiments/tags", body: ["run": "2", "key": "team", "value": "ml"]),
                                                HTTPRequest("DELETE", "experiments/runs", body: ["run": "2"]),
                                                HTTPRequest("GET", "experiments/runs/search", body: ["experiment": "exp", "filter": "tag.team = 'ml'"])])
        XCTAssertEqual(outcome.responses[5]?.status, 200)
        XCTAssertEqual(outcome.responses.last??.body["runs"], "1")
    }

    func testTheFilterGrammarNamesWhereItStopped() {
        XCTAssertEqual(RunSearch.parse("tag.a = 'x' AND param.b = 'y'"),
                       .success([RunSearch.Clause(table: "tags", key: "a", value: "x"), RunSearch.Clause(table: "params", key: "b", value: "y")]))
        XCTAssertEqual(RunSearch.parse("tag.a = 'x' OR 1"), .failure(FormError(field: "filter", problem: "at 12: expected AND or the end")))
        XCTAssertEqual(RunSearch.parse("metric.a = 'x'"), .failure(FormError(field: "filter", problem: "at 8: expected tag.KEY or param.KEY")))
        XCTAssertEqual(RunSearch.parse("tag.a = 'x"), .failure(FormError(field: "filter", problem: "at 10: an unterminated value")))
    }

    // MARK: forks

    func testAForkCopiesItsParentsParametersAndNamesIt() {
        let outcome = run([create("a", params: ["epochs": "4"]), HTTPRequest("POST", "experiments/runs/fork", body: ["parent": "1", "run_key": "f"]),
                           HTTPRequest("GET", "experiments/params", body: ["run": "2"]), HTTPRequest("GET", "experiments/runs/list", body: ["experiment": "exp"])])
        XCTAssertEqual(outcome.responses[2]?.body["param.epochs"], "4")
        XCTAssertEqual(outcome.responses[3]?.body["runs"], "1:0,2:1")
    }

    func testARunWithForksCannotBeDeleted() {
        let outcome = run([create("a"), HTTPRequest("POST", "experiments/runs/fork", body: ["parent": "1", "run_key": "f"]),
                           HTTPRequest("DELETE", "experiments/runs", body: ["run": "1"])])
        XCTAssertEqual(outcome.responses[2]?.status, 409)
    }

    func testADeletedRunCannotBeForkedAndTakesItsParametersAlong() {
        let outcome = run([create("a"), HTTPRequest("DELETE", "experiments/runs", body: ["run": "1"]),
                           HTTPRequest("POST", "experiments/runs/fork", body: ["parent": "1", "run_key": "f"])])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 200, 404])
        XCTAssertEqual(outcome.view.rows("experiments_db", "SELECT COUNT(*) FROM params")?.first?.first?.integer, 0)
    }

    func testADeletedNewestRunsIdIsNeverGivenAgain() {
        let outcome = run([create("a"), create("b"), HTTPRequest("DELETE", "experiments/runs", body: ["run": "2"]), create("c"),
                           HTTPRequest("GET", "experiments/runs/list", body: ["experiment": "exp"])])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 200, 200, 200, 200])
        XCTAssertEqual(outcome.responses.map { $0?.body["run"] }, ["1", "2", "2", "3", nil], "c is run 3: the deleted run 2's id is not reused")
        XCTAssertEqual(outcome.responses[4]?.body["runs"], "1:0,3:0")
    }

    func testARetriedForkIsTheSameRun() {
        let fork = HTTPRequest("POST", "experiments/runs/fork", body: ["parent": "1", "run_key": "f"])
        let outcome = run([create("a"), fork, fork])
        XCTAssertEqual(outcome.responses[1]?.body["run"], outcome.responses[2]?.body["run"])
    }

    // MARK: finishing

    func testTheFirstFinishStands() {
        let outcome = run([create("a"), HTTPRequest("POST", "experiments/runs/finish", body: ["run": "1", "status": "finished", "result": "auc=0.9"]),
                           HTTPRequest("POST", "experiments/runs/finish", body: ["run": "1", "status": "failed", "result": "late"]),
                           HTTPRequest("GET", "experiments/runs", body: ["run": "1"])])
        XCTAssertEqual(outcome.responses[3]?.body["status"], "finished")
        XCTAssertEqual(outcome.responses[3]?.body["result"], "auc=0.9")
    }

    func testAFinishNeedsAKnownStatus() {
        let outcome = run([create("a"), HTTPRequest("POST", "experiments/runs/finish", body: ["run": "1", "status": "done", "result": ""])])
        XCTAssertEqual(outcome.responses[1]?.status, 400)
    }
}
