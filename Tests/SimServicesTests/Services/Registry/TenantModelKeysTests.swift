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

    /// Through the gateway, t1's engineer and bob of t2 each deploy their own `fraud` v1, with
    /// different weights: each is answered with its own tenant's weights (one replica serves
    /// both, by key), and another caller of t1 (ci-bot) with t1's.
    func testAReplicaServesEachTenantItsOwnModel() {
        func deploy(_ weights: [Float], as user: String) -> [HTTPRequest] {
            let bytes = ModelArtifact(model: "fraud", version: 1, residentMiB: 10, weights: weights).encoded
            return [
                HTTPRequest("POST", "models/create", body: ["name": "fraud", "signature": "a:float,b:float,c:float"]),
                HTTPRequest("POST", "registry/versions", body: ["model": "fraud", "artifact": hexBytes(bytes), "checksum": hexString(crc32(bytes))]),
                HTTPRequest("POST", "registry/stages", body: ["model": "fraud", "version": "1", "stage": "Production"]),
            ].map { request in
                var request = request
                request.headers["x-harness-user"] = user
                return request
            }
        }
        func predict(as user: String) -> HTTPRequest {
            HTTPRequest("POST", "inference/predict", body: ["model": "fraud", "x": "1,2,3"], headers: ["x-harness-user": user])
        }
        let t1Weights: [Float] = [0.1, -0.5, 0.3, 0.1], t2Weights: [Float] = [-2, 1, 1, 1]
        let outcome = ServiceHarness.run("inference", throughGateway: true, deploy(t1Weights, as: "ml-engineer") + deploy(t2Weights, as: "bob") + [
            ServiceHarness.pause(milliseconds: 3_000), predict(as: "ml-engineer"), predict(as: "bob"), predict(as: "ci-bot"),
        ])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 200, 200, 200, 200, 200, nil, 200, 200, 200])
        let expected = { (weights: [Float]) in LogisticModel.sigmoid(LogisticModel.score(weights, [1, 2, 3])) }
        XCTAssertEqual(outcome.responses[7].flatMap { $0.body["p"] }.flatMap(Float.init), expected(t1Weights), "t1's weights for t1's caller")
        XCTAssertEqual(outcome.responses[8].flatMap { $0.body["p"] }.flatMap(Float.init), expected(t2Weights), "t2's weights for t2's caller")
        XCTAssertNotEqual(expected(t1Weights), expected(t2Weights))
        XCTAssertEqual(outcome.responses[8]?.body["model"], "fraud", "the caller's name for its model")
        XCTAssertEqual(outcome.responses[9].flatMap { $0.body["p"] }.flatMap(Float.init), expected(t1Weights), "ci-bot is of t1 too")
    }

    /// A model name is plain (letters, digits, `_`, `-`, `.`): a `/`, a `:` or a name starting
    /// with a combining mark (which would merge with a separator into one character) is refused
    /// 400 by models, the registry and inference alike, and nothing traps.
    func testANameThatIsNotPlainIsRefusedEverywhere() {
        let names = ["a/b", "x:planned", "\u{301}x", ""]
        let outcome = ServiceHarness.run("models", names.flatMap { name in [
            HTTPRequest("POST", "models/create", body: ["name": name], headers: Self.engineer),
            Self.models("status", Self.engineer).replacingName(name),
            ServiceHarness.to("registry", HTTPRequest("POST", "registry/versions", body: ["model": name], headers: Self.engineer)),
            ServiceHarness.to("inference", HTTPRequest("POST", "inference/predict", body: ["model": name, "x": "1,2,3"], headers: Self.engineer)),
        ] })
        XCTAssertEqual(outcome.responses.map { $0?.status }, Array(repeating: 400, count: 4 * names.count))
        XCTAssertEqual(outcome.view.rows("models_db", "SELECT COUNT(*) FROM models")?.first?.first?.integer, 0)
    }
}

private extension HTTPRequest {
    func replacingName(_ name: String) -> HTTPRequest {
        var request = self
        request.body["name"] = name
        return request
    }
}
