import XCTest
@testable import SimKernel
@testable import SimServices

/// The registry registers an authenticated caller's versions only of its own tenant's models,
/// asking the models service on the caller's behalf; G1 loses the caller's claims on the way.
final class RegistryTenancyTests: XCTestCase {
    static let engineer = ModelTenancyTests.engineer, bob = ModelTenancyTests.bob
    static func register(_ model: String, _ headers: [String: String]) -> HTTPRequest {
        HTTPRequest("POST", "registry/versions", body: ["model": model], headers: headers)
    }
    static let create = ServiceHarness.to("models", HTTPRequest("POST", "models/create", body: ["name": "fraud"], headers: engineer))

    /// The owner's tenant registers; another tenant's caller gets 404, logged, and no version;
    /// an anonymous caller (the platform's own jobs) is not asked about tenants.
    func testAVersionIsRegisteredOnlyForAModelOfTheCallersTenant() {
        let outcome = ServiceHarness.run("registry", [Self.create, Self.register("fraud", Self.engineer), Self.register("fraud", Self.bob),
                                                      Self.register("fraud", [:])])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 200, 404, 200])
        XCTAssertEqual(outcome.simulation.security.refusals.map { "\($0.caller) \($0.reason)" }, ["bob@t2 model of another tenant, or none"])
        XCTAssertEqual(outcome.view.rows("models_db", "SELECT version FROM model_versions WHERE model = 't1/fraud' ORDER BY version")?.map { $0[0].plain }, ["1", "2"])
        XCTAssertEqual(outcome.simulation.security.downstreamCalls.map { "\($0.user) \($0.upstreamComplete) \($0.status)" }, ["ml-engineer true 200", "bob true 404"])
    }

    /// The look-up by name answers only within the caller's tenant, and needs an identity.
    func testTheLookUpByNameIsTenantScoped() {
        let lookup = { (headers: [String: String]) in HTTPRequest("GET", "models/lookup", body: ["name": "fraud"], headers: headers) }
        let outcome = ServiceHarness.run("models", [Self.create, lookup(Self.engineer), lookup(Self.bob), lookup([:])])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 200, 404, 401])
        XCTAssertEqual(outcome.responses[1]?.body["tenant"], "t1")
    }

    /// G1: the registry propagates the user alone; models sees no tenant and answers 401; the
    /// owner cannot register its own model's version (403).
    func testG1LosesTheTenantClaimDownstream() {
        let outcome = ServiceHarness.run("registry", defects: DefectSet([.G1]), [Self.create, Self.register("fraud", Self.engineer)])
        XCTAssertEqual(outcome.responses[1]?.status, 403)
        XCTAssertEqual(outcome.simulation.security.downstreamCalls.map { "\($0.user) \($0.upstreamComplete) \($0.status)" }, ["ml-engineer true 401"])
    }

    /// Another tenant's caller can neither move a stage of, nor start or roll back a canary of,
    /// t1's model: each is answered 404 and logged (naming the action), the version keeps its
    /// stage and no canary exists; the owner's own move of the same version goes through.
    func testStagesAndCanariesAreActedOnOnlyWithinTheCallersTenant() {
        let stage = { (headers: [String: String]) in HTTPRequest("POST", "registry/stages", body: ["model": "fraud", "version": "1", "stage": "Staging"], headers: headers) }
        let canary = HTTPRequest("POST", "registry/canary", body: ["model": "fraud", "version": "1", "percent": "10", "start": "true"], headers: Self.bob)
        let rollback = HTTPRequest("POST", "registry/canary/rollback", body: ["model": "fraud"], headers: Self.bob)
        let refused = ServiceHarness.run("registry", [Self.create, Self.register("fraud", Self.engineer), stage(Self.bob), canary, rollback])
        XCTAssertEqual(refused.responses.map { $0?.status }, [200, 200, 404, 404, 404])
        XCTAssertEqual(refused.simulation.security.refusals.map { "\($0.caller) \($0.reason): \($0.detail)" }, [
            "bob@t2 model of another tenant, or none: stage fraud", "bob@t2 model of another tenant, or none: canary fraud",
            "bob@t2 model of another tenant, or none: roll back the canary of fraud",
        ])
        XCTAssertEqual(refused.view.rows("models_db", "SELECT stage FROM model_versions WHERE model = 't1/fraud' AND version = 1")?.first?.first?.text, "None")
        XCTAssertEqual(refused.view.rows("models_db", "SELECT COUNT(*) FROM canaries WHERE model = 't1/fraud'")?.first?.first?.integer, 0)
        let owned = ServiceHarness.run("registry", [Self.create, Self.register("fraud", Self.engineer), stage(Self.engineer)])
        XCTAssertEqual(owned.responses.map { $0?.status }, [200, 200, 200])
        XCTAssertEqual(owned.view.rows("models_db", "SELECT stage FROM model_versions WHERE model = 't1/fraud' AND version = 1")?.first?.first?.text, "Staging")
    }

    /// A call on the caller's behalf to a service that is down backs off between its three
    /// attempts (50 ms, then 100 ms, each plus up to half again of jitter) after each 1 s timeout,
    /// then answers 503: the whole takes 3.15-3.4 s (a few ms of network on top).
    func testAnOnBehalfCallBacksOffBetweenAttemptsToAServiceThatIsDown() throws {
        let outcome = ServiceHarness.run("registry", [ServiceHarness.crash(node: "models"), Self.register("fraud", Self.engineer)])
        XCTAssertEqual(outcome.responses[1]?.status, 503)
        XCTAssertEqual(outcome.responses[1]?.body["error"], "models did not answer")
        let took = try XCTUnwrap(outcome.durations[1])
        XCTAssertGreaterThanOrEqual(took, 3 * Nanos.second + 150 * Nanos.millisecond, "three 1 s timeouts and two backoffs: \(formatNanoseconds(took))")
        XCTAssertLessThan(took, 3 * Nanos.second + 400 * Nanos.millisecond, "the backoffs stay within their jitter: \(formatNanoseconds(took))")
    }
}
