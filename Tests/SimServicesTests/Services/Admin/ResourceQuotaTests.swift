import XCTest
@testable import SimKernel
@testable import SimServices

/// Per-resource quotas in exact thousandths: decimal amounts parsed without floating point,
/// reservations all or nothing, concurrent reservations never past the quota, the ledger exact.
final class ResourceQuotaTests: XCTestCase {
    /// Decimal text to thousandths and back; everything else refused with the reason.
    func testAmountsAreExactThousandths() throws {
        XCTAssertEqual(try MilliUnits.parse("1.5"), 1500)
        XCTAssertEqual(try MilliUnits.parse("0.001"), 1)
        XCTAssertEqual(try MilliUnits.parse("20"), 20_000)
        XCTAssertEqual(try MilliUnits.parse("007.250"), 7250)
        XCTAssertEqual(MilliUnits.text(1500), "1.5")
        XCTAssertEqual(MilliUnits.text(1), "0.001")
        XCTAssertEqual(MilliUnits.text(20_000), "20")
        for (text, error) in [("0.0001", MilliUnits.ParseError.tooPrecise("0.0001")), ("-1", .notADecimal("-1")), ("1e3", .notADecimal("1e3")), ("nan", .notADecimal("nan")),
                              (".5", .notADecimal(".5")), ("5.", .notADecimal("5.")), ("1.2.3", .notADecimal("1.2.3")), ("", .notADecimal("")), ("٣", .notADecimal("٣")),
                              ("1000000001", .outOfRange("1000000001")), ("99999999999999999999", .outOfRange("99999999999999999999"))] {
            XCTAssertThrowsError(try MilliUnits.parse(text), text) { XCTAssertEqual($0 as? MilliUnits.ParseError, error, text) }
        }
    }

    static let admin = ["x-user": "ops-admin", "x-tenant": "t1", "x-role": "admin"], member = ["x-user": "ann", "x-tenant": "acme", "x-role": "scientist"]
    static func quota(_ resource: String, _ amount: String, _ headers: [String: String] = admin) -> HTTPRequest {
        HTTPRequest("POST", "admin/quotas", body: ["tenant": "acme", "resource": resource, "quota": amount], headers: headers)
    }
    static func reserve(_ amounts: String, _ headers: [String: String] = member) -> HTTPRequest {
        HTTPRequest("POST", "admin/reservations", body: ["tenant": "acme", "amounts": amounts], headers: headers)
    }

    /// Quotas are set by administrators only; a tenant's members reserve within their tenant only;
    /// anonymous callers reserve nothing. Each refusal for a security reason is logged.
    func testQuotasAreAnAdministratorsAndReservationsTheTenantsOwn() {
        let outsider = ["x-user": "bob", "x-tenant": "t2", "x-role": "scientist"]
        let outcome = ServiceHarness.run("admin", [Self.quota("gpu_hours", "5", Self.member), Self.quota("gpu_hours", "5"), Self.reserve("gpu_hours:1", outsider),
                                                   Self.reserve("gpu_hours:1", [:]), Self.reserve("gpu_hours:1")])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [403, 200, 403, 401, 200])
        XCTAssertEqual(outcome.simulation.security.refusals.map(\.reason), ["quota change by a non-admin", "reservation for another tenant"])
        XCTAssertEqual(outcome.responses[4]?.body["usage"], "gpu_hours:1/5")
    }

    /// The float trap: a quota of 0.3 takes exactly three reservations of 0.1 (in binary floating
    /// point 0.1 + 0.1 + 0.1 > 0.3, and the third would be refused), and refuses a fourth.
    func testThreeTenthsFitAQuotaOfThreeTenthsExactly() {
        XCTAssertGreaterThan(0.1 + 0.1 + 0.1, 0.3, "the reason for thousandths")
        let outcome = ServiceHarness.run("admin", [Self.quota("gpu_hours", "0.3"), Self.reserve("gpu_hours:0.1"), Self.reserve("gpu_hours:0.1"), Self.reserve("gpu_hours:0.1"), Self.reserve("gpu_hours:0.1")])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 200, 200, 200, 429])
        XCTAssertEqual(outcome.responses[3]?.body["usage"], "gpu_hours:0.3/0.3")
        XCTAssertEqual(AdminService.invariants(outcome.view), [])
    }

    /// Several resources at once: all or nothing. A reservation short on one resource leaves the
    /// others untouched; a malformed or repeated pair is refused before anything is written.
    func testAReservationOfSeveralResourcesIsAllOrNothing() {
        let outcome = ServiceHarness.run("admin", [Self.quota("gpu_hours", "2"), Self.quota("storage_gb", "10"), Self.reserve("storage_gb:8,gpu_hours:1.5"),
                                                   Self.reserve("gpu_hours:0.5,storage_gb:4"), Self.reserve("gpu_hours:x"), Self.reserve("gpu_hours:1,gpu_hours:1"), Self.reserve("tpu:1")])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 200, 200, 429, 400, 400, 429])
        XCTAssertEqual(outcome.responses[2]?.body["usage"], "gpu_hours:1.5/2,storage_gb:8/10")
        XCTAssertEqual(outcome.responses[3]?.body["error"], "quota exceeded: storage_gb of acme")
        XCTAssertEqual(outcome.view.rows("users_db", "SELECT resource, used_milli FROM quotas ORDER BY resource")?.map { $0.map(\.plain) }, [["gpu_hours", "1500"], ["storage_gb", "8000"]])
        XCTAssertEqual(AdminService.invariants(outcome.view), [])
    }

    /// A quota race: 40 reservations of 0.3 at once against a quota of 10 (33 fit): exactly 33
    /// are granted, usage is 9.9, and the ledger sums to it.
    func testConcurrentReservationsNeverPassTheQuota() {
        let outcome = ServiceHarness.run("admin", seconds: 60, [Self.quota("gpu_hours", "10"), ServiceHarness.concurrently(40, Self.reserve("gpu_hours:0.3"))])
        let answers = outcome.responses.dropFirst()
        XCTAssertEqual(answers.count, 40)
        XCTAssertEqual(answers.filter { $0?.status == 200 }.count, 33, "\(answers.map { $0?.status })")
        XCTAssertTrue(answers.allSatisfy { $0?.status == 200 || $0?.status == 429 })
        XCTAssertEqual(outcome.view.rows("users_db", "SELECT used_milli FROM quotas")?.first?.first?.integer, 9900)
        XCTAssertEqual(AdminService.invariants(outcome.view), [])
    }

    /// A quota is never set below its usage; the invariant finds usage past a quota and a ledger
    /// that does not sum to the usage (planted).
    func testTheQuotaStaysAboveUsageAndTheInvariantFindsALedgerMismatch() {
        let outcome = ServiceHarness.run("admin", [Self.quota("gpu_hours", "2"), Self.reserve("gpu_hours:1.5"), Self.quota("gpu_hours", "1")])
        XCTAssertEqual(outcome.responses[2]?.body["usage"], "gpu_hours:1.5/1.5")
        ServiceHarness.write(outcome, "users_db", "INSERT INTO reservations(tenant, resource, amount_milli) VALUES ('acme', 'gpu_hours', 1)")
        XCTAssertEqual(AdminService.invariants(outcome.view), ["admin: acme/gpu_hours: the ledger sums to 1.501, the usage is 1.5"])
    }
}
