import XCTest
@testable import SimKernel
@testable import SimServices

final class MonitoringServiceTests: XCTestCase {
    /// A shifted sample is drift (PSI >= 0.2), the same sample is not, and both reports are stored
    /// with verdicts that agree with their PSI.
    func testADriftReportIsComputedAndStored() throws {
        let outcome = ServiceHarness.run("monitoring", [
            HTTPRequest("POST", "monitoring/drift", body: ["feature": "age", "reference": "1,2,3,4,5,6,7,8", "current": "5,6,7,8,9,10,11,12"]),
            HTTPRequest("POST", "monitoring/drift", body: ["feature": "age", "reference": "1,2,3,4", "current": "1,2,3,4"]),
        ])
        XCTAssertEqual(outcome.responses.map { $0?.body["drift"] }, ["true", "false"])
        let psi = try XCTUnwrap(Double(outcome.responses[0]?.body["psi"] ?? ""))
        XCTAssertEqual(psi, MonitoringService.psi(reference: [1, 2, 3, 4, 5, 6, 7, 8], current: [5, 6, 7, 8, 9, 10, 11, 12]), accuracy: 1e-12)
        XCTAssertEqual(outcome.view.rows("metrics_db", "SELECT feature, drift FROM drift_reports ORDER BY id")?.map { $0[1].integer }, [1, 0])
        XCTAssertEqual(MonitoringService.invariants(outcome.view), [])
    }

    func testTheInvariantFindsAVerdictThatContradictsItsPSI() {
        let outcome = ServiceHarness.run("monitoring", [HTTPRequest("POST", "monitoring/drift", body: ["reference": "1,2,3,4", "current": "1,2,3,4"])])
        ServiceHarness.write(outcome, "metrics_db", "UPDATE drift_reports SET drift = 1")
        XCTAssertEqual(MonitoringService.invariants(outcome.view).count, 1)
        XCTAssertTrue(MonitoringService.invariants(outcome.view)[0].hasPrefix("monitoring: report 1 says drift=1 for PSI"))
    }
}
