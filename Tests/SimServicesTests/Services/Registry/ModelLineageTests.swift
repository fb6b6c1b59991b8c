import XCTest
@testable import SimKernel
@testable import SimServices

/// Lineage from dataset version to run to registered model version: a version registered with a
/// finished run records the run's dataset digest and code version, answered by `registry/lineage`.
final class ModelLineageTests: XCTestCase {
    static let engineer = ModelTenancyTests.engineer, bob = ModelTenancyTests.bob
    static let createModel = ServiceHarness.to("models", HTTPRequest("POST", "models/create", body: ["name": "fraud"], headers: engineer))
    static let createRun = ServiceHarness.to("experiments", HTTPRequest("POST", "experiments/runs", body: ["experiment": "fraud", "code": "git-abc123", "data": "sha256-d1"], headers: engineer))
    static let finishRun = ServiceHarness.to("experiments", HTTPRequest("POST", "experiments/runs/finish", body: ["run": "1", "status": "finished", "result": "auc=0.91"], headers: engineer))
    static func register(run: String?, _ headers: [String: String] = engineer) -> HTTPRequest {
        var body = ["model": "fraud"]
        body["run"] = run
        return HTTPRequest("POST", "registry/versions", body: body, headers: headers)
    }
    static func lineage(_ version: Int) -> HTTPRequest { HTTPRequest("GET", "registry/lineage", body: ["model": "fraud", "version": "\(version)"], headers: engineer) }

    /// The chain as registered: run 1, its dataset digest and code version, the artifact's checksum;
    /// the row in models_db holds it.
    func testAVersionRecordsTheRunsDatasetAndCode() {
        let outcome = ServiceHarness.run("registry", [Self.createModel, Self.createRun, Self.finishRun, Self.register(run: "1"), Self.lineage(1)])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 200, 200, 200, 200])
        let lineage = outcome.responses[4]?.body ?? [:]
        XCTAssertEqual([lineage["run"], lineage["dataset"], lineage["code"], lineage["checksum"]], ["1", "sha256-d1", "git-abc123", outcome.responses[3]?.body["checksum"]])
        XCTAssertEqual(outcome.view.rows("models_db", "SELECT run, data_digest, code_version FROM model_versions")?.first?.map(\.plain), ["1", "sha256-d1", "git-abc123"])
        XCTAssertEqual(RegistryService.invariants(outcome.view), [])
    }

    /// A run still running is refused (409), a missing run is 404, and so is another tenant's run,
    /// asked on the caller's behalf; none of them leaves a version. A version without a run has no lineage.
    func testOnlyAFinishedRunOfTheCallersTenantIsLinked() {
        let outcome = ServiceHarness.run("registry", [Self.createModel, Self.createRun, Self.register(run: "1"), Self.register(run: "9"),
                                                      ServiceHarness.to("models", HTTPRequest("POST", "models/create", body: ["name": "fraud"], headers: Self.bob)), Self.finishRun,
                                                      Self.register(run: "1", Self.bob), Self.register(run: nil), Self.lineage(1)])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 200, 409, 404, 200, 200, 404, 200, 404])
        XCTAssertTrue(outcome.responses[2]?.body["error"]?.contains("run 1 is running") == true, "\(outcome.responses[2]?.body ?? [:])")
        XCTAssertEqual(outcome.view.rows("models_db", "SELECT COUNT(*) FROM model_versions WHERE run IS NOT NULL")?.first?.first?.plain, "0")
    }

    /// The invariant compares the recorded chain with experiments_db: a version whose dataset no
    /// longer matches its run's is named.
    func testTheInvariantNamesALineageThatDisagreesWithTheRun() {
        let outcome = ServiceHarness.run("registry", [Self.createModel, Self.createRun, Self.finishRun, Self.register(run: "1")])
        ServiceHarness.write(outcome, "models_db", "UPDATE model_versions SET data_digest = 'sha256-other'")
        XCTAssertEqual(RegistryService.invariants(outcome.view), ["registry: t1/fraud v1 records run 1 with dataset sha256-other and code git-abc123, but the run has sha256-d1 and git-abc123"])
    }

    /// Another tenant's caller asking a version's lineage hears 404, as for a model it does not
    /// have, and the refusal is logged; the owner reads it.
    func testTheLineageOfAnotherTenantsModelIsNotFound() {
        var theirs = Self.lineage(1)
        theirs.headers = HTTPHeaders(Self.bob)
        let outcome = ServiceHarness.run("registry", [Self.createModel, Self.createRun, Self.finishRun, Self.register(run: "1"), theirs, Self.lineage(1)])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 200, 200, 200, 404, 200])
        XCTAssertNil(outcome.responses[4]?.body["dataset"])
        XCTAssertTrue(outcome.simulation.security.refusals.contains { $0.reason == "model of another tenant, or none" && $0.caller == "bob@t2" })
    }
}
