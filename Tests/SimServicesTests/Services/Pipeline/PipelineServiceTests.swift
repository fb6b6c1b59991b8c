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
        ServiceHarness.write(outcome, "experiments_db", "INSERT INTO dags(tenant, name, edges) VALUES ('t1', 'loop', 'a>b,b>a')")
        XCTAssertEqual(PipelineService.invariants(outcome.view), ["pipeline: stored DAG loop (id 2) has a cycle: a -> b -> a"])
    }
}

/// DAGs and runs belong to their submitter's tenant; the workers materialize a run's views for
/// that tenant only.
final class PipelineTenancyTests: XCTestCase {
    static let engineer = ModelTenancyTests.engineer, bob = ModelTenancyTests.bob
    static func by(_ headers: [String: String], _ request: HTTPRequest) -> HTTPRequest { ServiceHarness.with(headers, request) }

    /// t1 and t2 each submit a DAG named `etl` (two DAGs); bob's start of `etl` runs his own
    /// (one task), the engineer's runs t1's (two); bob asking for the status of t1's run, or
    /// reporting its task done, is answered 404 and logged (the workers report it, as the platform).
    func testATenantStartsFollowsAndReportsOnlyItsOwnRuns() {
        let outcome = ServiceHarness.run("pipeline", [
            Self.by(Self.engineer, HTTPRequest("POST", "pipeline/dags", body: ["name": "etl", "edges": "extract>load"])),
            Self.by(Self.bob, HTTPRequest("POST", "pipeline/dags", body: ["name": "etl", "edges": "solo>solo2"])),
            Self.by(Self.engineer, HTTPRequest("POST", "pipeline/runs", body: ["dag": "etl"])),
            Self.by(Self.bob, HTTPRequest("POST", "pipeline/runs/status", body: ["run": "1"])),
            Self.by(Self.bob, HTTPRequest("POST", "pipeline/tasks/done", body: ["run": "1", "task": "extract"])),
            Self.by(Self.engineer, HTTPRequest("POST", "pipeline/runs/status", body: ["run": "1"])),
        ])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 200, 200, 404, 404, 200])
        XCTAssertEqual(outcome.view.rows("experiments_db", "SELECT tenant, name, edges FROM dags ORDER BY tenant")?.map { $0.map(\.plain).joined(separator: " ") },
                       ["t1 etl extract>load", "t2 etl solo>solo2"])
        XCTAssertEqual(outcome.view.rows("experiments_db", "SELECT tenant, edges FROM pipeline_runs")?.map { $0.map(\.plain).joined(separator: " ") }, ["t1 extract>load"])
        XCTAssertEqual(outcome.simulation.security.refusals.map { "\($0.caller): \($0.reason) \($0.detail)" },
                       ["bob@t2: pipeline run of another tenant status of run 1", "bob@t2: pipeline run of another tenant report extract of run 1"])
    }
}
