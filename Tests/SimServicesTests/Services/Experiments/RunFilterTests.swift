import XCTest
@testable import SimKernel
@testable import SimServices

/// The experiment filter: runs of the caller's tenant by metric, the filter parsed into bound
/// parameters; I1 splices it into the SQL text and an injected clause leaves the tenant.
final class RunFilterTests: XCTestCase {
    static let t1 = ["x-user": "ml-engineer", "x-tenant": "t1", "x-role": "scientist"]
    static let t2 = ["x-user": "bob", "x-tenant": "t2", "x-role": "scientist"]
    static func create(_ auc: String, _ headers: [String: String], experiment: String = "fraud") -> HTTPRequest {
        HTTPRequest("POST", "experiments/runs", body: ["experiment": experiment, "metric.auc": auc], headers: headers)
    }
    static func filter(_ text: String, _ headers: [String: String], experiment: String? = "fraud") -> HTTPRequest {
        var body = ["filter": text]
        body["experiment"] = experiment
        return HTTPRequest("GET", "experiments/runs/filter", body: body, headers: headers)
    }
    /// Three runs of t1 (auc 0.91, 0.87, 0.6 in another experiment) and one of t2 (0.72).
    static let runs = [create("0.91", t1), create("0.87", t1), create("0.72", t2), create("0.6", t1, experiment: "churn")]

    /// Clauses parse to metric, comparison and number; `<=` is not read as `<`.
    func testAFilterParsesToClauses() throws {
        let clauses = try RunFilter.parse("metrics.auc >= 0.9 AND metrics.loss<1e-2 AND metrics.val/acc != -3").get()
        XCTAssertEqual(clauses, [RunFilter.Clause(metric: "auc", comparison: ">=", value: 0.9), RunFilter.Clause(metric: "loss", comparison: "<", value: 0.01),
                                 RunFilter.Clause(metric: "val/acc", comparison: "!=", value: -3)])
    }

    /// Anything outside the grammar is refused with the clause it failed in: injections, strings,
    /// a missing comparison, inf and nan, an unknown prefix.
    func testAFilterOutsideTheGrammarIsRefusedNamingTheClause() {
        for (filter, problem) in [("metrics.auc > 0) OR (1=1", "clause 1: expected a number after >"), ("metrics.auc > 0.5 AND params.lr = '0.1'", "clause 2: expected metrics.KEY"),
                                  ("metrics.auc 0.5", "clause 1: expected one of"), ("metrics.auc > inf", "clause 1: expected a number"),
                                  ("metrics.auc > nan", "clause 1: expected a number"), ("metrics. > 1", "clause 1: a metric name"),
                                  ("metrics.auc > 1; DROP TABLE runs", "clause 1: expected a number")] {
            guard case .failure(let error) = RunFilter.parse(filter) else { XCTFail("\(filter) parsed"); continue }
            XCTAssertTrue(error.description.contains(problem), "\(filter): \(error.description)")
        }
    }

    /// The filter answers the caller's tenant's runs of the experiment whose metric matches, and
    /// nothing of another tenant's; the injection is a 400 and leaves nothing behind.
    func testTheFilterAnswersOnlyTheCallersTenant() {
        let outcome = ServiceHarness.run("experiments", Self.runs + [
            Self.filter("metrics.auc > 0.5", Self.t1), Self.filter("metrics.auc > 0.5", Self.t2), Self.filter("metrics.auc > 0.88", Self.t1),
            Self.filter("metrics.auc > 0.5", Self.t1, experiment: nil), Self.filter("metrics.auc > 0) OR (1=1", Self.t2),
        ])
        XCTAssertEqual(outcome.responses.prefix(4).map { $0?.status }, [200, 200, 200, 200])
        XCTAssertEqual(outcome.responses[4...].map { $0?.body["runs"] }, ["1,2", "3", "1", "1,2,4", nil])
        XCTAssertEqual(outcome.responses[8]?.status, 400)
        XCTAssertEqual(outcome.simulation.security.runFilters.map(\.callerTenant), ["t1", "t2", "t1", "t1"])
    }

    /// A run of another tenant reads as missing (404), the owner's as stored.
    func testARunOfAnotherTenantIsNotFound() {
        let outcome = ServiceHarness.run("experiments", [Self.create("0.91", Self.t1), HTTPRequest("GET", "experiments/runs", body: ["run": "1"], headers: Self.t2),
                                                         HTTPRequest("GET", "experiments/runs", body: ["run": "1"], headers: Self.t1)])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 404, 200])
        XCTAssertEqual(outcome.responses[2]?.body["experiment"], "fraud")
    }

    /// A run key names a run within its tenant: another tenant's retry with the same key is a
    /// conflict, never the other tenant's run.
    func testARunKeyOfAnotherTenantIsAConflict() {
        let keyed = ["experiment": "fraud", "run_key": "nightly-1"]
        let outcome = ServiceHarness.run("experiments", [HTTPRequest("POST", "experiments/runs", body: keyed, headers: Self.t1), HTTPRequest("POST", "experiments/runs", body: keyed, headers: Self.t1),
                                                         HTTPRequest("POST", "experiments/runs", body: keyed, headers: Self.t2)])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 200, 409])
        XCTAssertEqual(outcome.responses[1]?.body["run"], "1", "the owner's retry is the same run")
    }

    /// I1: the injected clause closes the metric's sub-query and ORs the tenant away: t2 gets t1's runs.
    func testI1ReturnsOtherTenantsRunsToAnInjectedFilter() {
        let outcome = ServiceHarness.run("experiments", defects: DefectSet([.I1]), Self.runs + [Self.filter("metrics.auc > 0) OR (1=1", Self.t2)])
        XCTAssertEqual(outcome.responses[4]?.body["runs"], "1,2,3,4")
        let answer = outcome.simulation.security.runFilters.first
        XCTAssertEqual(answer?.runs.map(\.tenant), ["t1", "t1", "t2", "t1"])
    }

    /// Finishing or forking another tenant's run is answered 404 and changes nothing; the owner's
    /// fork belongs to the owner's tenant, so the other tenant cannot read it either.
    func testFinishAndForkOfAnotherTenantsRunAreNotFound() {
        let finish = ["run": "1", "status": "finished", "result": "auc=0.5"]
        let outcome = ServiceHarness.run("experiments", [
            Self.create("0.91", Self.t1),
            HTTPRequest("POST", "experiments/runs/finish", body: finish, headers: Self.t2),
            HTTPRequest("POST", "experiments/runs/fork", body: ["parent": "1", "run_key": "bob-fork"], headers: Self.t2),
            HTTPRequest("GET", "experiments/runs", body: ["run": "1"], headers: Self.t1),
            HTTPRequest("POST", "experiments/runs/fork", body: ["parent": "1", "run_key": "own-fork"], headers: Self.t1),
            HTTPRequest("GET", "experiments/runs", body: ["run": "2"], headers: Self.t2),
            HTTPRequest("GET", "experiments/runs", body: ["run": "2"], headers: Self.t1),
        ])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 404, 404, 200, 200, 404, 200])
        XCTAssertEqual(outcome.responses[3]?.body["status"], "running", "t2's finish left t1's run running")
        XCTAssertEqual(outcome.responses[4]?.body["run"], "2")
        XCTAssertEqual(outcome.view.rows("experiments_db", "SELECT id, tenant, COALESCE(parent, 0) FROM runs ORDER BY id")?.map { $0.map(\.plain) },
                       [["1", "t1", "0"], ["2", "t1", "1"]])
    }

    /// Every route that names a run is scoped too: another tenant's caller naming the run on any
    /// of them is answered 404 like a missing run, logged, and changes nothing (the handler never
    /// runs, whatever else the body holds); the owner and the platform's own jobs (no tenant)
    /// reach the run.
    func testEveryRouteNamingARunAnswersAnotherTenantNotFound() {
        let foreign = RunTenancy.runRoutes.map { route in
            let parts = route.split(separator: " ").map(String.init)
            return HTTPRequest(parts[0], parts[1], body: ["run": "1", "step": "1", "metric.auc": "0.1", "key": "owner", "value": "bob"], headers: Self.t2)
        }
        let outcome = ServiceHarness.run("experiments", [Self.create("0.91", Self.t1)] + foreign + [
            HTTPRequest("GET", "experiments/params", body: ["run": "1"], headers: Self.t1),
            HTTPRequest("GET", "experiments/params", body: ["run": "1"]),
            HTTPRequest("GET", "experiments/params", body: ["run": "9"], headers: Self.t2),
        ])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200] + Array(repeating: 404, count: foreign.count) + [200, 200, 404], "a missing run reads as another tenant's")
        XCTAssertEqual(outcome.responses[1 ... foreign.count].map { $0?.body["error"] }, Array(repeating: "no run 1", count: foreign.count))
        XCTAssertEqual(outcome.simulation.security.refusals.filter { $0.reason == "run of another tenant" }.map(\.detail),
                       RunTenancy.runRoutes.map { "\($0) run 1" })
        XCTAssertEqual(outcome.view.rows("experiments_db", "SELECT COUNT(*) FROM metrics WHERE run = 1 AND step = 1")?.first?.first?.plain, "0")
        XCTAssertEqual(outcome.view.rows("experiments_db", "SELECT COUNT(*) FROM params WHERE key = 'owner'")?.first?.first?.plain, "0")
        XCTAssertEqual(outcome.view.rows("experiments_db", "SELECT attempts, (SELECT COUNT(*) FROM runs) FROM runs WHERE id = 1")?.first?.map(\.plain), ["0", "1"])
    }

    /// A deletion is scoped in its own transaction: another tenant's caller deleting the run is
    /// answered 404 like a missing run, logged, and deletes nothing (its parameters stay too); a
    /// missing run is 404 unlogged; the owner deletes it.
    func testADeletionOfAnotherTenantsRunIsNotFoundLoggedAndChangesNothing() {
        let outcome = ServiceHarness.run("experiments", [
            Self.create("0.91", Self.t1),
            HTTPRequest("POST", "experiments/params", body: ["run": "1", "key": "lr", "value": "0.1"], headers: Self.t1),
            HTTPRequest("DELETE", "experiments/runs", body: ["run": "1"], headers: Self.t2),
            HTTPRequest("DELETE", "experiments/runs", body: ["run": "9"], headers: Self.t2),
            HTTPRequest("GET", "experiments/params", body: ["run": "1"], headers: Self.t1),
            HTTPRequest("DELETE", "experiments/runs", body: ["run": "1"], headers: Self.t1),
        ])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 200, 404, 404, 200, 200])
        XCTAssertEqual(outcome.responses[2]?.body["error"], "no run 1")
        XCTAssertEqual(outcome.responses[4]?.body["param.lr"], "0.1", "the refused deletion left the parameters")
        XCTAssertEqual(outcome.simulation.security.refusals.map { "\($0.reason): \($0.detail)" }, ["run of another tenant: DELETE experiments/runs run 1"])
        XCTAssertEqual(outcome.view.rows("experiments_db", "SELECT COUNT(*) FROM runs")?.first?.first?.plain, "0", "the owner's deletion went through")
    }

    /// Every experiments route is in exactly one of the guard's lists: guarded, scoped by its
    /// handler, or shared (a new route must be placed, not forgotten).
    func testEveryExperimentsRouteIsGuardedScopedOrShared() {
        let routes = ExperimentsService.spec().routes.routes.map { "\($0.method) \($0.path)" }.sorted()
        XCTAssertEqual(routes, (RunTenancy.runRoutes + RunTenancy.scopedByHandler + RunTenancy.shared).sorted())
    }

    /// The routes keyed by experiment name answer the caller's tenant's runs of it only: two
    /// tenants' "fraud" experiments are compared, listed and searched apart; a caller without a
    /// tenant (the platform's own jobs) lists both.
    func testComparisonListingAndSearchAnswerTheCallersTenantsRunsOnly() {
        func tag(_ run: Int, _ headers: [String: String]) -> HTTPRequest {
            HTTPRequest("POST", "experiments/tags", body: ["run": "\(run)", "key": "team", "value": "risk"], headers: headers)
        }
        let compare = ["experiment": "fraud", "metric": "auc"], search = ["experiment": "fraud", "filter": "tag.team = 'risk'"]
        let outcome = ServiceHarness.run("experiments", [
            Self.create("0.91", Self.t1), Self.create("0.87", Self.t1), Self.create("0.72", Self.t2), tag(1, Self.t1), tag(3, Self.t2),
            HTTPRequest("GET", "experiments/compare", body: compare, headers: Self.t2), HTTPRequest("GET", "experiments/compare", body: compare, headers: Self.t1),
            HTTPRequest("GET", "experiments/runs/list", body: ["experiment": "fraud"], headers: Self.t2),
            HTTPRequest("GET", "experiments/runs/search", body: search, headers: Self.t2), HTTPRequest("GET", "experiments/runs/search", body: search, headers: Self.t1),
            HTTPRequest("GET", "experiments/runs/list", body: ["experiment": "fraud"]),
        ])
        XCTAssertEqual(outcome.responses.map { $0?.status }, Array(repeating: 200, count: 11))
        XCTAssertEqual(outcome.responses[5]?.body["best"], "3", "t2 compares its one run")
        XCTAssertEqual(outcome.responses[6]?.body["best"], "1", "t1's best is its own 0.91")
        XCTAssertFalse(outcome.responses[6]?.body["ranking"]?.contains("3=") ?? true, "t2's run is not in t1's ranking: \(outcome.responses[6]?.body ?? [:])")
        XCTAssertEqual(outcome.responses[7]?.body["runs"], "3:0")
        XCTAssertEqual([outcome.responses[8]?.body["runs"], outcome.responses[9]?.body["runs"]], ["3", "1"])
        XCTAssertEqual(outcome.responses[10]?.body["runs"], "1:0,2:0,3:0")
    }
}
