import XCTest
@testable import SimKernel
@testable import SimServices

final class AdminServiceTests: XCTestCase {
    /// Reservations add up to the quota and the one beyond it is refused with 429; the stored
    /// usage is what was granted.
    func testReservationsStopAtTheQuotaAndUsageIsStored() {
        let reserve = HTTPRequest("POST", "admin/tenants", body: ["tenant": "acme", "quota": "25", "reserve": "10"])
        let outcome = ServiceHarness.run("admin", [reserve, reserve, reserve])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 200, 429])
        XCTAssertEqual(outcome.responses[1]?.body, ["used": "20", "quota": "25"])
        XCTAssertEqual(outcome.view.rows("users_db", "SELECT used FROM tenants WHERE name = 'acme'")?.first?.first?.integer, 20)
        XCTAssertEqual(AdminService.invariants(outcome.view), [])
    }

    func testANegativeReservationIsRefused() {
        let outcome = ServiceHarness.run("admin", [HTTPRequest("POST", "admin/tenants", body: ["tenant": "acme", "reserve": "-5"])])
        XCTAssertEqual(outcome.responses.first??.status, 400)
    }

    func testTheInvariantFindsUsageAboveTheQuota() {
        let outcome = ServiceHarness.run("admin", [HTTPRequest("POST", "admin/tenants", body: ["tenant": "acme", "quota": "25", "reserve": "10"])])
        ServiceHarness.write(outcome, "users_db", "UPDATE tenants SET used = 30 WHERE name = 'acme'")
        XCTAssertEqual(AdminService.invariants(outcome.view), ["admin: tenant acme uses 30 of a quota of 25"])
    }
}
