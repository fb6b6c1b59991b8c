import XCTest
@testable import SimKernel
@testable import SimServices

final class PipelineServiceTests: XCTestCase {
    /// A diamond is accepted (four tasks), a cycle is refused with 422, a malformed edge with 400.
    func testADiamondIsAcceptedAndACycleRefused() {
        let outcome = ServiceHarness.run("pipeline", [
            HTTPRequest("POST", "pipeline/dags", body: ["name": "diamond", "edges": "a>b,a>c,b>d,c>d"]),
            HTTPRequest("POST", "pipeline/dags", body: ["name": "loop", "edges": "a>b,b>c,c>a"]),
            HTTPRequest("POST", "pipeline/dags", body: ["name": "bad", "edges": "a-b"]),
        ])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 422, 400])
        XCTAssertEqual(outcome.responses[0]?.body["tasks"], "4")
        XCTAssertEqual(outcome.view.rows("experiments_db", "SELECT name FROM dags")?.map { $0[0].text }, ["diamond"])
        XCTAssertEqual(PipelineService.invariants(outcome.view), [])
    }

    func testTheInvariantFindsAStoredCycle() {
        let outcome = ServiceHarness.run("pipeline", [HTTPRequest("POST", "pipeline/dags", body: ["name": "etl", "edges": "x>y"])])
        ServiceHarness.write(outcome, "experiments_db", "INSERT INTO dags(name, edges) VALUES ('loop', 'a>b,b>a')")
        XCTAssertEqual(PipelineService.invariants(outcome.view), ["pipeline: stored DAG loop (id 2) has a cycle: a -> b -> a"])
    }
}
