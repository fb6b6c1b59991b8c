import XCTest
@testable import SimKernel
@testable import SimServices

/// Two tenants' models of one name are two models: the registry keys versions, stages, canaries
/// and artifacts by `<tenant>/<name>`, `models/status` and `models/archive` act in the caller's
/// tenant only, and the inference replicas serve each tenant its own model's versions.
final class TenantModelKeysTests: XCTestCase {
    static let engineer = ModelTenancyTests.engineer, bob = ModelTenancyTests.bob
    static func create(_ headers: [String: String]) -> HTTPRequest {
        ServiceHarness.to("models", HTTPRequest("POST", "models/create", body: ["name": "fraud"], headers: headers))
    }
    static func register(_ headers: [String: String]) -> HTTPRequest {
        HTTPRequest("POST", "registry/versions", body: ["model": "fraud"], headers: headers)
    }
    static func promote(_ version: Int, _ headers: [String: String]) -> HTTPRequest {
        HTTPRequest("POST", "registry/stages", body: ["model": "fraud", "version": "\(version)", "stage": "Production"], headers: headers)
    }
    static func models(_ path: String, _ headers: [String: String]) -> HTTPRequest {
        ServiceHarness.to("models", HTTPRequest("POST", "models/\(path)", body: ["name": "fraud"], headers: headers))
    }

    /// t1 registers two versions of `fraud` and t2 one of its own `fraud`: t2's is version 1, not
    /// 3; t2 promoting its v1 leaves t1's Production v1 where it is (no archive across tenants);
    /// each version's artifact is stored under its tenant's key and verifies.
    func testTwoTenantsModelsOfOneNameHaveTheirOwnVersionsStagesAndArtifacts() {
        let outcome = ServiceHarness.run("registry", [
            Self.create(Self.engineer), Self.create(Self.bob),
            Self.register(Self.engineer), Self.register(Self.engineer), Self.register(Self.bob),
            Self.promote(1, Self.engineer), Self.promote(1, Self.bob),
        ])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 200, 200, 200, 200, 200, 200])
        XCTAssertEqual(outcome.responses.map { $0?.body["version"] }, [nil, nil, "1", "2", "1", nil, nil])
        XCTAssertEqual(outcome.responses[6]?.body["archived"], nil, "t2's promotion archived nothing of t1's")
        XCTAssertEqual(outcome.view.rows("models_db", "SELECT model, version, stage FROM model_versions ORDER BY model, version")?.map { $0.map(\.plain).joined(separator: " ") },
                       ["t1/fraud 1 Production", "t1/fraud 2 None", "t2/fraud 1 Production"])
        for key in ["t1/fraud/1", "t1/fraud/2", "t2/fraud/1"] {
            guard case .success? = outcome.view.object(bucket: "models", key: key) else { return XCTFail("no artifact at \(key)") }
        }
        XCTAssertEqual(RegistryService.invariants(outcome.view), [])
    }

    /// `models/status` answers the caller's tenant's model; `models/archive` archives only its
    /// versions; a tenant with no model of that name gets 404 for both, and a body naming another
    /// tenant is refused 403 and logged.
    func testStatusAndArchiveActOnlyOnTheCallersTenantsModel() {
        let carol = ["x-user": "carol", "x-tenant": "t3", "x-role": "scientist"]
        var otherTenant = Self.models("archive", Self.bob)
        otherTenant.body["tenant"] = "t1"
        let outcome = ServiceHarness.run("registry", [
            Self.create(Self.engineer), Self.create(Self.bob),
            Self.register(Self.engineer), Self.register(Self.bob), Self.promote(1, Self.engineer), Self.promote(1, Self.bob),
            Self.models("archive", Self.bob), otherTenant, Self.models("status", carol), Self.models("archive", carol),
            Self.models("status", Self.engineer), Self.models("status", Self.bob),
        ])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 200, 200, 200, 200, 200, 200, 403, 404, 404, 200, 200])
        XCTAssertEqual(outcome.responses[6]?.body["versions"], "1:Archived")
        XCTAssertEqual(outcome.responses[10]?.body["versions"], "1:Production", "t1's model was not archived by t2")
        XCTAssertEqual(outcome.responses[10]?.body["stage"], "Production")
        XCTAssertEqual(outcome.responses[11]?.body["stage"], "Archived")
        XCTAssertEqual(outcome.simulation.security.refusals.map { "\($0.caller): \($0.reason)" }, ["bob@t2: cross-tenant write to t1"])
    }

    /// Through the gateway, t1's engineer deploys `fraud` v1 and predicts with it; bob of t2 asks
    /// for `fraud` too and is answered for his tenant's model, which has no Production version
    /// (404), never with t1's weights.
    func testAReplicaServesEachTenantItsOwnModel() {
        let bytes = ModelArtifact(model: "fraud", version: 1, residentMiB: 10, weights: [0.1, -0.5, 0.3, 0.1]).encoded
        let register = HTTPRequest("POST", "registry/versions", body: ["model": "fraud", "artifact": hexBytes(bytes), "checksum": hexString(crc32(bytes))])
        let predict = HTTPRequest("POST", "inference/predict", body: ["model": "fraud", "x": "1,2,3"])
        var asBob = predict
        asBob.headers["x-harness-user"] = "bob"
        let outcome = ServiceHarness.run("inference", throughGateway: true, [
            HTTPRequest("POST", "models/create", body: ["name": "fraud", "signature": "a:float,b:float,c:float"]), register,
            HTTPRequest("POST", "registry/stages", body: ["model": "fraud", "version": "1", "stage": "Production"]),
            ServiceHarness.pause(milliseconds: 3_000), predict, asBob,
        ])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 200, 200, nil, 200, 404])
        XCTAssertEqual(outcome.responses[4]?.body["model"], "fraud", "the caller's name for its model")
        XCTAssertEqual(outcome.responses[4]?.body["version"], "1")
        XCTAssertEqual(outcome.responses[5]?.body["error"], "no version of t2/fraud is in Production")
    }
}
