import XCTest
@testable import SimKernel
@testable import SimServices

final class WorkersServiceTests: XCTestCase {
    /// A task goes through Kafka and its effect is recorded once, even when enqueued twice.
    func testATaskEnqueuedTwiceTakesEffectOnce() {
        let task = HTTPRequest("POST", "workers/tasks", body: ["task": "t-7"])
        let outcome = ServiceHarness.run("workers", seconds: 40, [task, task])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 200])
        XCTAssertNotEqual(outcome.responses[0]?.body["offset"], outcome.responses[1]?.body["offset"], "two records on the topic")
        XCTAssertEqual(outcome.view.rows("metrics_db", "SELECT COUNT(*) FROM task_effects WHERE task = 't-7'")?.first?.first?.integer, 1)
        XCTAssertEqual(WorkersService.invariants(outcome.view), [])
    }

    func testTheInvariantFindsAnEffectFromTheFuture() {
        let outcome = ServiceHarness.run("workers", seconds: 40, [HTTPRequest("POST", "workers/tasks", body: ["task": "t-1"])])
        ServiceHarness.write(outcome, "metrics_db", "UPDATE task_effects SET processed_at = 9000000000000")
        XCTAssertEqual(WorkersService.invariants(outcome.view), ["workers: task t-1 processed at 9000000000000 ns, after the end of the run"])
    }
}
