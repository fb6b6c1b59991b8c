import XCTest
@testable import SimKernel
@testable import SimServices

final class TrainingServiceTests: XCTestCase {
    /// A job without a spec is stored once per name (a resubmission is the same job); a job with
    /// a spec needs an authenticated caller.
    func testAResubmittedJobIsOneJobAndASpecNeedsACaller() {
        let spec = TrainingService.encode(TrainingJobSpec())
        let outcome = ServiceHarness.run("training", [
            HTTPRequest("POST", "training/jobs", body: ["job": "probe"]), HTTPRequest("POST", "training/jobs", body: ["job": "probe"]),
            HTTPRequest("POST", "training/jobs", body: ["job": "job-1", "spec": spec]),
        ])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 200, 401])
        XCTAssertEqual(outcome.responses[0]?.body["job_id"], outcome.responses[1]?.body["job_id"])
        XCTAssertEqual(outcome.view.rows("experiments_db", "SELECT COUNT(*) FROM training_jobs")?.first?.first?.integer, 1)
        XCTAssertEqual(TrainingService.invariants(outcome.view), [])
    }

    func testTheInvariantFindsACompletedJobWithoutItsResult() {
        let outcome = ServiceHarness.run("training", [HTTPRequest("POST", "training/jobs", body: ["job": "probe"])])
        ServiceHarness.write(outcome, "experiments_db", "UPDATE training_jobs SET state = 'completed'")
        XCTAssertEqual(TrainingService.invariants(outcome.view), ["training: completed job probe has no result"])
    }
}
