import XCTest
@testable import SimKernel
@testable import SimServices

final class ModelsServiceTests: XCTestCase {
    /// Create-if-absent: the same name twice is one model (same id), mirrored into search.
    func testCreatingAModelTwiceIsOneModel() {
        let create = HTTPRequest("POST", "models/create", body: ["name": "resnet", "signature": "age:int,income:float"])
        let outcome = ServiceHarness.run("models", [create, create])
        XCTAssertEqual(outcome.responses.map { $0?.body["id"] }, ["1", "1"])
        XCTAssertEqual(outcome.responses.first??.body["signature"], "age:int,income:float")
        XCTAssertEqual(outcome.view.rows("models_db", "SELECT COUNT(*) FROM models")?.first?.first?.integer, 1)
        XCTAssertEqual(ModelsService.invariants(outcome.view), [])
    }

    func testAModelWithoutANameIsRefused() {
        XCTAssertEqual(ServiceHarness.run("models", [HTTPRequest("POST", "models/create", body: ["name": ""])]).responses.first??.status, 400)
    }

    func testTheInvariantFindsAMalformedSignature() {
        let outcome = ServiceHarness.run("models", [HTTPRequest("POST", "models/create", body: ["name": "resnet"])])
        ServiceHarness.write(outcome, "models_db", "UPDATE models SET signature = 'age' WHERE name = 'resnet'")
        XCTAssertEqual(ModelsService.invariants(outcome.view), ["models: model 1 has signature 'age', not name:type pairs"])
    }
}
