import XCTest
@testable import SimKernel
@testable import SimServices

final class InferenceServiceTests: XCTestCase {
    /// Predictions use the weights loaded from the object store (the logistic model's score), on
    /// the CPU without an accelerator; a request with the wrong number of features is 422.
    func testPredictionsUseTheLoadedModelAndValidateTheSignature() throws {
        let outcome = ServiceHarness.run("inference", [HTTPRequest("POST", "inference/predict", body: ["x": "1,2,3"]),
                                                       HTTPRequest("POST", "inference/predict", body: ["x": "1,2"])])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 422])
        let expected = LogisticModel.sigmoid(LogisticModel.score(InferenceService.weights, [1, 2, 3]))
        XCTAssertEqual(try XCTUnwrap(Float(outcome.responses[0]?.body["p"] ?? "")), expected)
        XCTAssertEqual(outcome.responses[0]?.body["device"], "cpu")
        XCTAssertEqual(InferenceService.invariants(outcome.view), [])
    }

    func testTheInvariantFindsCorruptWeights() {
        let outcome = ServiceHarness.run("inference", [HTTPRequest("POST", "inference/predict", body: ["x": "1,2,3"])])
        let minio = outcome.simulation.node(named: "minio")!
        var stored = try! minio.disk.readAll("buckets/models/o/default/weights")
        stored[stored.count - 1] ^= 1
        try! minio.disk.writeAll("buckets/models/o/default/weights", stored)
        XCTAssertEqual(InferenceService.invariants(outcome.view), ["inference: the default model's weights fail their checksum"])
    }
}
