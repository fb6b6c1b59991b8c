import XCTest
@testable import SimKernel
@testable import SimServices

/// A feature view belongs to the tenant that registered it: only its callers (and the platform's
/// own jobs) ingest into, read, materialize or check the drift of it; another tenant's caller is
/// answered as for a missing view (404) and logged; its name cannot be taken over; single values
/// are kept per tenant.
final class FeatureTenancyTests: XCTestCase {
    static let engineer = ModelTenancyTests.engineer, bob = ModelTenancyTests.bob
    static func by(_ headers: [String: String], _ request: HTTPRequest) -> HTTPRequest { ServiceHarness.with(headers, request) }
    static let row = FeatureRequests.row("s1", "u1", at: 1_000, ["3"])

    /// t1's view `spend`: bob of t2 is refused every route with 404, each refusal logged; his
    /// registration of the same name is refused 409 and changes nothing; t1's engineer reads it.
    func testAnotherTenantsCallerCannotReachAViewOrTakeItsName() {
        let outcome = ServiceHarness.run("features", [
            Self.by(Self.engineer, FeatureRequests.register("spend", features: ["amount"])),
            Self.by(Self.engineer, FeatureRequests.ingest("spend", [Self.row])),
            Self.by(Self.bob, FeatureRequests.ingest("spend", [FeatureRequests.row("s2", "u1", at: 2_000, ["9"])])),
            Self.by(Self.bob, FeatureRequests.historical("spend", [("u1", 5_000)])),
            Self.by(Self.bob, FeatureRequests.online("spend", ["u1"])),
            Self.by(Self.bob, FeatureRequests.materialize("spend")),
            Self.by(Self.bob, FeatureRequests.freshness("spend")),
            Self.by(Self.bob, FeatureRequests.register("spend", features: ["amount", "stolen"])),
            Self.by(Self.engineer, FeatureRequests.historical("spend", [("u1", 5_000)])),
        ])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 200, 404, 404, 404, 404, 404, 409, 200])
        XCTAssertEqual(outcome.responses[3]?.body["error"], "no feature view spend", "the answer a missing view gets: the name's owner is not disclosed")
        XCTAssertEqual(outcome.simulation.security.refusals.map { "\($0.caller): \($0.reason)" },
                       Array(repeating: "bob@t2: feature view of another tenant", count: 5) + ["bob@t2: feature view name held by another tenant"])
        XCTAssertEqual(FeatureRequests.rows(outcome.responses[8]).first?.last, "amount=3", "t1's row only: bob's ingest stored nothing")
        XCTAssertEqual(outcome.view.rows("metrics_db", "SELECT features, tenant FROM feature_views WHERE name = 'spend'")?.first?.map(\.plain), ["amount", "t1"])
        XCTAssertEqual(outcome.view.rows("metrics_db", "SELECT COUNT(*) FROM feature_rows WHERE view = 'spend'")?.first?.first?.integer, 1)
    }

    /// A drift check of t1's view by bob of t2 is refused 404 and logged, and stores no verdict;
    /// the engineer's check of the same window is judged (409 here: no rows in the reference).
    func testAnotherTenantsCallerCannotCheckAViewsDrift() {
        let check = HTTPRequest("POST", "monitoring/drift/check", body: ["view": "spend", "window": "1", "from_ns": "0", "to_ns": "10000",
                                                                         "reference_from_ns": "100000", "reference_to_ns": "200000"])
        let outcome = ServiceHarness.run("features", [
            Self.by(Self.engineer, FeatureRequests.register("spend", features: ["amount"])),
            Self.by(Self.engineer, FeatureRequests.ingest("spend", [Self.row])),
            ServiceHarness.to("monitoring", Self.by(Self.bob, check)),
            ServiceHarness.to("monitoring", Self.by(Self.engineer, check)),
        ])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 200, 404, 409])
        XCTAssertEqual(outcome.simulation.security.refusals.map { "\($0.caller): \($0.reason) \($0.detail)" }, ["bob@t2: feature view of another tenant check the drift of spend"])
        XCTAssertTrue(outcome.responses[3]?.body["error"]?.hasPrefix("no rows to compare yet") == true, "\(String(describing: outcome.responses[3]))")
    }

    /// Two tenants writing a single value of the same entity keep their own values.
    func testSingleValuesAreKeptPerTenant() {
        let put = { (value: String) in HTTPRequest("PUT", "features/values", body: ["entity": "user-1", "value": value]) }
        let outcome = ServiceHarness.run("features", [Self.by(Self.engineer, put("a")), Self.by(Self.bob, put("b")), Self.by(Self.engineer, put("c"))])
        XCTAssertEqual(outcome.responses.map { $0?.body["value"] }, ["a", "b", "c"])
        XCTAssertEqual(outcome.responses.map { $0?.body["version"] }, ["1", "1", "2"], "versions counted per tenant's entity")
    }
}

/// The feature store's other tenant boundaries: the single values' reserved view name, a platform
/// job acting for a tenant, and a registration losing a race for a name.
final class FeatureTenancyBoundaryTests: XCTestCase {
    /// `default` names the single values' store: no tenant may register a view of that name (it
    /// would read other tenants' single values as its rows), so reading it is 404 for everyone.
    func testTheSingleValuesViewNameIsReserved() {
        let outcome = ServiceHarness.run("features", [
            FeatureTenancyTests.by(FeatureTenancyTests.engineer, HTTPRequest("PUT", "features/values", body: ["entity": "user-1", "value": "secret"])),
            FeatureTenancyTests.by(FeatureTenancyTests.bob, FeatureRequests.register(FeaturesService.defaultView, features: ["value"])),
            FeatureTenancyTests.by(FeatureTenancyTests.bob, FeatureRequests.online(FeaturesService.defaultView, ["t1:user-1"])),
        ])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 400, 404])
        XCTAssertEqual(outcome.responses[1]?.body["error"], "'default' is reserved for single values")
    }

    /// A platform service materializes a view for the tenant it names (a pipeline run's): for the
    /// view's tenant it runs; for another tenant it is refused 404 and logged, naming whom it
    /// acted for.
    func testAPlatformJobMaterializesOnlyForTheViewsTenant() {
        let outcome = ServiceHarness.run("features", [
            FeatureTenancyTests.by(FeatureTenancyTests.engineer, FeatureRequests.register("spend", features: ["amount"])),
            HTTPRequest("POST", "features/materialize", body: ["view": "spend", "tenant": "t2"]),
            HTTPRequest("POST", "features/materialize", body: ["view": "spend", "tenant": "t1"]),
        ])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 404, 200])
        XCTAssertEqual(outcome.simulation.security.refusals.map { "\($0.caller): \($0.reason)" }, ["svc:harness@- for t2: feature view of another tenant"])
    }

    /// A registration that lost the name to another tenant between its read and its write changes
    /// nothing and adds no schema version, without an error: the caller is told the name is taken.
    func testARegistrationThatLostTheRaceAddsNoSchemaVersion() {
        OfflineStoreDB.with { db in
            _ = try db.connection.execute(OfflineStore.register(FeatureView(name: "v", features: ["a"], ttl: 1, sla: 1), tenant: "t1"))
            let late = FeatureView(name: "v", features: ["a", "b"], ttl: 1, sla: 1)
            XCTAssertEqual(try db.connection.execute(OfflineStore.register(late, tenant: "t2")).changes, 0)
            XCTAssertEqual(try db.connection.execute(SchemaVersions.add(view: "v", version: 2, features: late.features, tenant: "t2")).changes, 0)
            XCTAssertEqual(try db.connection.execute(SchemaVersions.add(view: "v", version: 2, features: late.features, tenant: "t1")).changes, 1)
        }
    }
}
