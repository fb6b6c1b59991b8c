import XCTest
@testable import SimKernel
@testable import SimServices

final class ExperimentsServiceTests: XCTestCase {
    /// A run with an idempotency key is created once; its metrics are stored by name; lr is written once.
    func testARetriedRunIsTheSameRunWithItsMetrics() {
        let create = HTTPRequest("POST", "experiments/runs", body: ["seed": "7", "lr": "0.5", "run_key": "job/abc", "metric.accuracy": "0.91", "metric.loss": "0.2"])
        let outcome = ServiceHarness.run("experiments", [create, create])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 200])
        XCTAssertEqual(outcome.responses[0]?.body["run"], outcome.responses[1]?.body["run"])
        let metrics = outcome.view.rows("experiments_db", "SELECT key, value FROM metrics ORDER BY key") ?? []
        XCTAssertEqual(metrics.map { $0[0].text }, ["accuracy", "loss"])
        XCTAssertEqual(outcome.view.rows("experiments_db", "SELECT value FROM params WHERE key = 'lr'")?.map { $0[0].text }, ["0.5"])
        XCTAssertEqual(ExperimentsService.invariants(outcome.view), [])
    }

    func testAMetricThatIsNotANumberIsRefusedNamingIt() {
        let outcome = ServiceHarness.run("experiments", [HTTPRequest("POST", "experiments/runs", body: ["metric.accuracy": "high"])])
        XCTAssertEqual(outcome.responses.first??.status, 400)
        XCTAssertTrue(outcome.responses.first??.body["error"]?.hasPrefix("metric.accuracy:") ?? false)
    }

    func testTheInvariantFindsARunWithoutItsParameter() {
        let outcome = ServiceHarness.run("experiments", [HTTPRequest("POST", "experiments/runs", body: ["seed": "1"])])
        ServiceHarness.write(outcome, "experiments_db", "DELETE FROM params")
        XCTAssertEqual(ExperimentsService.invariants(outcome.view), ["experiments: run 1 has 0 values of its write-once parameter lr"])
    }
}
