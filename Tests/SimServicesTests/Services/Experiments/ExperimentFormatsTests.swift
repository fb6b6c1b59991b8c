import XCTest
@testable import SimKernel
@testable import SimServices

/// Experiment tracking's pure pieces: timestamps, artifact names, the E1 blob format.
final class ExperimentFormatsTests: XCTestCase {
    func testAMillisecondBeforeTheEpochIsTheLastOf1969() {
        XCTAssertEqual(MetricLog.iso8601(-1), "1969-12-31T23:59:59.999Z")
    }

    func testTheEndOfACenturyLeapYearRule() {
        // 2100 is not a leap year: 2100-02-28 is followed by 2100-03-01 (day 47541 since 1970).
        XCTAssertEqual(MetricLog.iso8601(47_540 * 86_400_000), "2100-02-28T00:00:00.000Z")
        XCTAssertEqual(MetricLog.iso8601(47_541 * 86_400_000), "2100-03-01T00:00:00.000Z")
    }

    func testTheLastMillisecondOfADay() {
        XCTAssertEqual(MetricLog.iso8601(MetricLog.clockOrigin - 1), "2025-12-31T23:59:59.999Z")
    }

    func testArtifactNamesAreLettersDigitsAndDotUnderscoreDash() {
        for name in ["model.bin", "plot_1.png", "v2-weights"] { XCTAssertTrue(RunArtifacts.valid(name), name) }
        for name in ["", ".env", "a/b", "..", "a b", "x%2F", String(repeating: "a", count: 201)] { XCTAssertFalse(RunArtifacts.valid(name), name) }
    }

    func testAnArtifactAndItsStagedPartsLiveUnderTheRun() {
        XCTAssertEqual(RunArtifacts.artifactKey(7, "model.bin"), "runs/7/model.bin")
        XCTAssertEqual(RunArtifacts.stagingKey(7, "model.bin", 2), "staging/7/model.bin/2")
    }

    func testTheE1BlobParsesItsOwnPointsAndSkipsBrokenEntries() {
        let points = MetricLog.parse("loss|3|0.5|1000|2;broken;lr|0|0.1|999|1")
        XCTAssertEqual(points, [MetricLog.Point(key: "loss", step: 3, value: 0.5, timestampMillis: 1000, attempt: 2),
                                MetricLog.Point(key: "lr", step: 0, value: 0.1, timestampMillis: 999, attempt: 1)])
    }

    func testASummaryIsNotFoundWithoutPoints() {
        let outcome = ServiceHarness.run("experiments", [
            HTTPRequest("POST", "experiments/runs", body: ["run_key": "k", "experiment": "e", "seed": "1"]),
            HTTPRequest("GET", "experiments/metrics/summary", body: ["run": "1", "key": "loss"]),
            HTTPRequest("GET", "experiments/metrics/summary", body: ["run": "99", "key": "loss"]),
        ])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 404, 404])
    }

    func testE1SummarisesThePointsOfItsBlob() {
        let outcome = ServiceHarness.run("experiments", defects: DefectSet([.E1]), [
            HTTPRequest("POST", "experiments/runs", body: ["run_key": "k", "experiment": "e", "seed": "1"]),
            HTTPRequest("POST", "experiments/metrics", body: ["run": "1", "step": "0", "metric.n": "4"]),
            HTTPRequest("POST", "experiments/metrics", body: ["run": "1", "step": "1", "metric.n": "6"]),
            HTTPRequest("GET", "experiments/metrics/summary", body: ["run": "1", "key": "n"]),
        ])
        XCTAssertEqual(outcome.responses[3]?.body["sum"], "10.0")
        XCTAssertEqual(outcome.responses[3]?.body["count"], "2")
    }
}
