import XCTest
@testable import SimKernel
@testable import SimServices

final class SchedulerServiceTests: XCTestCase {
    /// The leader stores schedules and counts them; a cron without five fields is refused.
    func testTheLeaderStoresSchedulesAndRefusesABadCron() {
        let outcome = ServiceHarness.run("scheduler", [
            HTTPRequest("POST", "scheduler/schedules", body: ["name": "nightly", "cron": "0 2 * * *"]),
            HTTPRequest("POST", "scheduler/schedules", body: ["name": "hourly", "cron": "0 * * * *", "tz": "UTC"]),
            HTTPRequest("POST", "scheduler/schedules", body: ["name": "broken", "cron": "0 2 *"]),
        ])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 200, 400])
        XCTAssertEqual(outcome.responses[1]?.body["schedules"], "2")
        XCTAssertEqual(SchedulerService.invariants(outcome.view), [])
    }

    func testTheInvariantFindsAPlacementOfAJobTrainingNeverAccepted() {
        let outcome = ServiceHarness.run("scheduler", [HTTPRequest("POST", "scheduler/schedules", body: ["cron": "0 2 * * *"])])
        ServiceHarness.write(outcome, "experiments_db", "INSERT INTO placements(job, spec) VALUES ('ghost', '{}')")
        XCTAssertEqual(SchedulerService.invariants(outcome.view), ["scheduler: placed job ghost was never accepted by training",
                                                                    "scheduler: the placement of ghost holds a spec of another job"])
    }
}
