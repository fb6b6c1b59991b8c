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

    /// With the security log (Kafka) down, another tenant's run cannot be refused with its log
    /// entry: it is answered 503 in the words of a failed read, never a message naming the
    /// tenancy or the log; a missing run is still 404.
    func testWithTheSecurityLogDownAnotherTenantsRunAnswersAsAFailedRead() {
        let outcome = ServiceHarness.run("pipeline", [
            Self.by(Self.engineer, HTTPRequest("POST", "pipeline/dags", body: ["name": "etl", "edges": "extract>load"])),
            Self.by(Self.engineer, HTTPRequest("POST", "pipeline/runs", body: ["dag": "etl"])),
            ServiceHarness.crash(node: "kafka"),
            Self.by(Self.bob, HTTPRequest("POST", "pipeline/runs/status", body: ["run": "1"])),
            Self.by(Self.bob, HTTPRequest("POST", "pipeline/runs/status", body: ["run": "99"])),
        ])
        XCTAssertEqual(outcome.responses[3], HTTPResponse.error(503, "cannot read the run"))
        XCTAssertEqual(outcome.responses[4], HTTPResponse.error(404, "no run 99"))
        XCTAssertEqual(outcome.simulation.security.refusals.count, 0, "nothing could be logged")
    }
}

/// A run whose task names a feature view its tenant does not have (here t1's name, from t2) fails
/// once, with the reason, and is not sent again by the sweep (it used to be refused and re-sent
/// for as long as the run ran).
final class PipelineTaskFailureTests: XCTestCase {
    static let engineer = ModelTenancyTests.engineer, bob = ModelTenancyTests.bob
    static func by(_ headers: [String: String], _ request: HTTPRequest) -> HTTPRequest { ServiceHarness.with(headers, request) }

    func testAMaterializationOfAViewTheTenantLacksFailsTheRunOnce() {
        let outcome = ServiceHarness.run("pipeline", seconds: 60, [
            ServiceHarness.to("features", Self.by(Self.engineer, FeatureRequests.register("user_profile", features: ["age"]))),
            Self.by(Self.bob, HTTPRequest("POST", "pipeline/dags", body: ["name": "steal", "edges": "materialize.user_profile>report"])),
            Self.by(Self.bob, HTTPRequest("POST", "pipeline/runs", body: ["dag": "steal"])),
            ServiceHarness.pause(milliseconds: 40_000),
            Self.by(Self.bob, HTTPRequest("POST", "pipeline/runs/status", body: ["run": "1"])),
        ])
        XCTAssertEqual(outcome.responses[0]?.status, 200)
        XCTAssertEqual(outcome.responses[4]?.body["status"], "failed")
        XCTAssertEqual(outcome.view.rows("experiments_db", "SELECT status, failure FROM pipeline_runs")?.map { $0.map(\.plain).joined(separator: " ") },
                       ["failed materialize.user_profile: 404 no feature view user_profile"])
        XCTAssertEqual(outcome.view.rows("experiments_db", "SELECT task, state, attempts FROM pipeline_tasks ORDER BY task")?.map { $0.map(\.plain).joined(separator: " ") },
                       ["materialize.user_profile failed 1", "report pending 0"])
        // Sent once (attempts 1 above): not again in the 40 s that followed.
        XCTAssertEqual(outcome.simulation.features.taskStarts.filter { $0.task == "materialize.user_profile" }.count, 1)
        XCTAssertNotNil(outcome.simulation.features.runs[1]?.finishedAt, "the failed run is over")
    }
}

/// Each tenant has a stream of its own: schema versions, event ids, counts and backfills.
final class StreamTenancyTests: XCTestCase {
    static let engineer = ModelTenancyTests.engineer, bob = ModelTenancyTests.bob
    static func by(_ headers: [String: String], _ request: HTTPRequest) -> HTTPRequest { ServiceHarness.with(headers, request) }

    /// Both tenants register their own v1 (bob's with other fields: no 409, t1's stays as it
    /// was), send an event of the same id for a user of the same name, and both count once, each
    /// under its tenant; bob's backfill with D3 (no guard) doubles his counts and leaves t1's.
    func testTenantsStreamsAreApart() {
        let outcome = ServiceHarness.run("pipeline", defects: DefectSet([.D3]), seconds: 40, [
            Self.by(Self.engineer, HTTPRequest("POST", "pipeline/schemas", body: ["version": "1", "fields": "value:required"])),
            Self.by(Self.bob, HTTPRequest("POST", "pipeline/schemas", body: ["version": "1", "fields": "value:required,region:optional"])),
            Self.by(Self.bob, HTTPRequest("POST", "pipeline/schemas", body: ["version": "2", "fields": "value:required,region:optional,device:required"])),
            Self.by(Self.engineer, HTTPRequest("POST", "pipeline/events", body: ["events": "e1|u1|1500000000|1|5"])),
            Self.by(Self.bob, HTTPRequest("POST", "pipeline/events", body: ["events": "e1|u1|1500000000|1|100"])),
            ServiceHarness.pause(milliseconds: 5_000),
            Self.by(Self.bob, HTTPRequest("POST", "pipeline/backfill")),
        ])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 200, 409, 200, 200, nil, 200])
        XCTAssertEqual(outcome.responses[2]?.body["error"], "not backward compatible: v2 adds required field device, which v1 data lacks")
        XCTAssertEqual(outcome.responses[3]?.body["accepted"], "1")
        XCTAssertEqual(outcome.responses[4]?.body["accepted"], "1")
        XCTAssertEqual(outcome.view.rows("experiments_db", "SELECT tenant, version, fields FROM stream_schemas ORDER BY tenant, version")?.map { $0.map(\.plain).joined(separator: " ") },
                       ["t1 1 value:required", "t2 1 value:required,region:optional"])
        XCTAssertEqual(outcome.view.rows("experiments_db", "SELECT tenant, user, count, total FROM stream_counts ORDER BY tenant")?.map { $0.map(\.plain).joined(separator: " ") },
                       ["t1 u1 1 5.0", "t2 u1 2 200.0"])
        XCTAssertEqual(outcome.view.rows("experiments_db", "SELECT id FROM stream_seen ORDER BY id")?.map { $0[0].plain }, ["t1/e1", "t2/e1"])
        XCTAssertEqual(outcome.simulation.stream.accepted.keys.sorted(), ["t1/e1", "t2/e1"])
    }
}
