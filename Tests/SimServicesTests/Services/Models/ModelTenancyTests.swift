import XCTest
@testable import SimKernel
@testable import SimServices

/// Tenant scope of the models service, with the identity the gateway forwards (`x-user`,
/// `x-tenant`; the harness sends them straight to the service as the gateway would).
final class ModelTenancyTests: XCTestCase {
    static let engineer = ["x-user": "ml-engineer", "x-tenant": "t1", "x-role": "scientist"]
    static let bob = ["x-user": "bob", "x-tenant": "t2", "x-role": "scientist"]
    static func create(_ name: String, _ headers: [String: String], tenant: String? = nil) -> HTTPRequest {
        var body = ["name": name]
        body["tenant"] = tenant
        return HTTPRequest("POST", "models/create", body: body, headers: headers)
    }
    static func get(_ id: Int64, _ headers: [String: String]) -> HTTPRequest { HTTPRequest("GET", "models/get", body: ["id": "\(id)"], headers: headers) }

    /// A model is created in the caller's tenant; its owner reads it by id; another tenant's caller
    /// gets the same 404 as for an id that does not exist, and nothing is served to it; the probe
    /// of another tenant's id is logged, the missing id is not.
    func testAModelIsReadableByIdOnlyWithinItsTenant() {
        let outcome = ServiceHarness.run("models", [Self.create("fraud", Self.engineer), Self.get(1, Self.engineer), Self.get(1, Self.bob), Self.get(99, Self.bob)])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 200, 404, 404])
        XCTAssertEqual(outcome.responses[1]?.body["tenant"], "t1")
        XCTAssertEqual(outcome.responses[1]?.body["name"], "fraud")
        XCTAssertEqual(outcome.responses[2]?.body["error"], "no model 1")
        XCTAssertEqual(outcome.responses[3]?.body["error"], "no model 99")
        XCTAssertEqual(outcome.simulation.security.refusals.map { "\($0.caller) \($0.reason): \($0.detail)" }, ["bob@t2 model of another tenant: read model 1"])
        XCTAssertEqual(outcome.simulation.security.modelReads.map { "\($0.user) \($0.id) \($0.modelTenant)" }, ["ml-engineer 1 t1"])
        XCTAssertEqual(outcome.view.rows("models_db", "SELECT tenant, name FROM models")?.map { $0.map(\.plain) }, [["t1", "fraud"]])
    }

    /// Two tenants may use one model name: each gets its own row.
    func testTwoTenantsHaveTheirOwnModelOfTheSameName() {
        let outcome = ServiceHarness.run("models", [Self.create("churn", Self.engineer), Self.create("churn", Self.bob)])
        XCTAssertEqual(outcome.responses.map { $0?.body["id"] }, ["1", "2"])
        XCTAssertEqual(outcome.view.rows("models_db", "SELECT tenant FROM models ORDER BY id")?.map { $0[0].plain }, ["t1", "t2"])
    }

    /// A body naming another tenant than the caller's is refused (403), logged, and writes nothing;
    /// naming one's own tenant is fine.
    func testACrossTenantWriteIsRefusedAndLogged() {
        let outcome = ServiceHarness.run("models", [Self.create("planted", Self.bob, tenant: "t1"), Self.create("mine", Self.bob, tenant: "t2")])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [403, 200])
        XCTAssertEqual(outcome.responses[0]?.body["error"], "refused: cross-tenant write to t1")
        XCTAssertEqual(outcome.simulation.security.refusals.map { "\($0.caller) \($0.detail)" }, ["bob@t2 create planted"])
        XCTAssertEqual(outcome.view.rows("models_db", "SELECT tenant, name FROM models")?.map { $0.map(\.plain) }, [["t2", "mine"]])
    }

    /// A read by id needs an identity: an anonymous caller gets 401.
    func testAnAnonymousReadByIdIsRefused() {
        let outcome = ServiceHarness.run("models", [Self.create("fraud", Self.engineer), Self.get(1, [:])])
        XCTAssertEqual(outcome.responses[1], HTTPResponse.error(401, "reading a model needs an authenticated caller"))
    }

    /// I5: the id is looked up alone, so bob of t2 reads t1's model.
    func testI5ServesAnotherTenantsModelById() {
        let outcome = ServiceHarness.run("models", defects: DefectSet([.I5]), [Self.create("fraud", Self.engineer), Self.get(1, Self.bob)])
        XCTAssertEqual(outcome.responses[1]?.status, 200)
        XCTAssertEqual(outcome.responses[1]?.body["tenant"], "t1")
        XCTAssertEqual(outcome.simulation.security.modelReads.map { "\($0.user)@\($0.callerTenant) read \($0.modelTenant)" }, ["bob@t2 read t1"])
    }
}
