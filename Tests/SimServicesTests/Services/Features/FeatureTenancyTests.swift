import XCTest
@testable import SimKernel
@testable import SimServices

/// Each tenant names its feature views in a namespace of its own: a caller finds, ingests into,
/// reads, materializes and checks the drift of its own tenant's views only (another tenant's view
/// of a name is simply not there: 404, as any missing view), registers any name without learning
/// whether another tenant has it, and single values are kept per tenant.
final class FeatureTenancyTests: XCTestCase {
    static let engineer = ModelTenancyTests.engineer, bob = ModelTenancyTests.bob
    static func by(_ headers: [String: String], _ request: HTTPRequest) -> HTTPRequest { ServiceHarness.with(headers, request) }
    static let row = FeatureRequests.row("s1", "u1", at: 1_000, ["3"])

    /// t1's view `spend`: bob of t2 finds no view of that name on any route (the answer a name
    /// nobody registered gets); his own registration of `spend` is a second view, which takes his
    /// row of the same source id and entity; each reads its own value.
    func testEachTenantNamesItsViewsInANamespaceOfItsOwn() {
        let outcome = ServiceHarness.run("features", [
            Self.by(Self.engineer, FeatureRequests.register("spend", features: ["amount"])),
            Self.by(Self.engineer, FeatureRequests.ingest("spend", [Self.row])),
            Self.by(Self.bob, FeatureRequests.ingest("spend", [FeatureRequests.row("s2", "u1", at: 2_000, ["9"])])),
            Self.by(Self.bob, FeatureRequests.historical("spend", [("u1", 5_000)])),
            Self.by(Self.bob, FeatureRequests.online("spend", ["u1"])),
            Self.by(Self.bob, FeatureRequests.materialize("spend")),
            Self.by(Self.bob, FeatureRequests.freshness("spend")),
            Self.by(Self.bob, FeatureRequests.historical("nothing", [("u1", 5_000)])),
            Self.by(Self.bob, FeatureRequests.register("spend", features: ["amount", "other"])),
            Self.by(Self.bob, FeatureRequests.ingest("spend", [FeatureRequests.row("s1", "u1", at: 1_000, ["9", "1"])])),
            Self.by(Self.engineer, FeatureRequests.historical("spend", [("u1", 5_000)])),
            Self.by(Self.bob, FeatureRequests.historical("spend", [("u1", 5_000)])),
        ])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 200, 404, 404, 404, 404, 404, 404, 200, 200, 200, 200])
        XCTAssertEqual(outcome.responses[3]?.body["error"], "no feature view spend")
        XCTAssertEqual(outcome.responses[3]?.body, outcome.responses[7]?.body.mapValues { $0.replacingOccurrences(of: "nothing", with: "spend") },
                       "t1's view answers bob exactly as a name nobody registered")
        XCTAssertEqual(outcome.responses[8]?.body["version"], "1", "bob's first version of his own view")
        XCTAssertEqual(FeatureRequests.rows(outcome.responses[10]).first?.last, "amount=3", "t1's value")
        XCTAssertEqual(FeatureRequests.rows(outcome.responses[11]).first?.last, "amount=9;other=1", "bob's value, under the same source id")
        XCTAssertEqual(outcome.view.rows("metrics_db", "SELECT name, features, tenant FROM feature_views ORDER BY name")?.map { $0.map(\.plain).joined(separator: " ") },
                       ["t1/spend amount t1", "t2/spend amount;other t2"])
        XCTAssertEqual(outcome.view.rows("metrics_db", "SELECT view, source FROM feature_rows ORDER BY view")?.map { $0.map(\.plain).joined(separator: " ") },
                       ["t1/spend s1", "t2/spend s1"])
        XCTAssertEqual(outcome.simulation.security.refusals.count, 0, "bob reached nothing of t1's")
    }

    /// A drift check of `spend` by bob of t2 finds no view (t1's is not in his namespace) and
    /// stores no verdict; the engineer's check of the same window is judged (409 here: no rows in
    /// the reference).
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
        XCTAssertEqual(outcome.responses[2]?.body["error"], "no feature view spend")
        XCTAssertEqual(outcome.view.rows("metrics_db", "SELECT COUNT(*) FROM feature_drift")?.first?.first?.integer, 0)
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

    /// A platform service materializes a view in the namespace of the tenant it names (a
    /// pipeline run's): t1's `spend` for t1; for t2 there is no view of that name (404).
    func testAPlatformJobMaterializesOnlyInTheTenantItActsFor() {
        let outcome = ServiceHarness.run("features", [
            FeatureTenancyTests.by(FeatureTenancyTests.engineer, FeatureRequests.register("spend", features: ["amount"])),
            HTTPRequest("POST", "features/materialize", body: ["view": "spend", "tenant": "t2"]),
            HTTPRequest("POST", "features/materialize", body: ["view": "spend", "tenant": "t1"]),
        ])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 404, 200])
        XCTAssertEqual(outcome.responses[1]?.body["error"], "no feature view spend")
    }

    /// Each tenant's view of one name has its own schema versions: t2's registration with other
    /// features is its version 1, not a refused evolution of t1's; t1 appending a feature makes
    /// t1's version 2 and leaves t2's alone.
    func testEachTenantsViewHasItsOwnSchemaVersions() {
        let outcome = ServiceHarness.run("features", [
            FeatureTenancyTests.by(FeatureTenancyTests.engineer, FeatureRequests.register("v", features: ["a"])),
            FeatureTenancyTests.by(FeatureTenancyTests.bob, FeatureRequests.register("v", features: ["x", "y"])),
            FeatureTenancyTests.by(FeatureTenancyTests.engineer, FeatureRequests.register("v", features: ["a", "b"])),
        ])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 200, 200])
        XCTAssertEqual(outcome.responses.map { $0?.body["version"] }, ["1", "1", "2"])
        XCTAssertEqual(outcome.view.rows("metrics_db", "SELECT name, version, features FROM feature_view_versions ORDER BY name, version")?.map { $0.map(\.plain).joined(separator: " ") },
                       ["t1/v 1 a", "t1/v 2 a;b", "t2/v 1 x;y"])
    }
}
