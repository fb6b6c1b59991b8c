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

/// Model versions on an inference replica: loaded from the registry's artifacts, charged to the
/// node's memory, evicted least recently used first, deployed from the deployments topic.
final class InferenceModelServingTests: XCTestCase {
    static let model = "fraud"

    static func artifact(_ version: Int64, mib: Int) -> ModelArtifact {
        ModelArtifact(model: model, version: version, residentMiB: mib, weights: [Float(version) / 10, -0.5, 0.3, 0.1])
    }

    /// Creates the model and registers versions 1...n through the gateway (optionally promoting each).
    static func register(_ count: Int64, mib: Int, promote: Bool = false) -> [HTTPRequest] {
        [HTTPRequest("POST", "models/create", body: ["name": model, "signature": "a:float,b:float,c:float"])] + (1 ... count).flatMap { version -> [HTTPRequest] in
            let bytes = artifact(version, mib: mib).encoded
            let register = HTTPRequest("POST", "registry/versions", body: ["model": model, "artifact": hexBytes(bytes), "checksum": hexString(crc32(bytes))])
            return promote ? [register, HTTPRequest("POST", "registry/stages", body: ["model": model, "version": "\(version)", "stage": "Production"])] : [register]
        }
    }

    static func predict(_ version: Int64?, x: String = "1,2,3") -> HTTPRequest {
        var body = ["model": model, "x": x]
        if let version { body["version"] = "\(version)" }
        return HTTPRequest("POST", "inference/predict", body: body)
    }

    static func serving(cache: Int, baseMiB: Int) -> ServingConfiguration {
        var serving = ServingConfiguration()
        serving.cacheSize = cache
        serving.baseMiB = baseMiB
        return serving
    }

    func testOnDemandLoadsChargeMemoryAndEvictionsReturnIt() throws {
        let outcome = ServiceHarness.run("inference", throughGateway: true, serving: Self.serving(cache: 2, baseMiB: 1000),
                                         Self.register(3, mib: 100) + [Self.predict(1), Self.predict(2), Self.predict(3)])
        XCTAssertEqual(outcome.responses.suffix(3).map { $0?.status }, [200, 200, 200])
        XCTAssertEqual(outcome.responses.suffix(3).map { $0?.body["version"] }, ["1", "2", "3"])
        let expected = LogisticModel.sigmoid(LogisticModel.score(Self.artifact(3, mib: 100).weights, [1, 2, 3]))
        XCTAssertEqual(try XCTUnwrap(Float(outcome.responses.last??.body["p"] ?? "")), expected, "v3's own weights answer")
        let node = try XCTUnwrap(outcome.simulation.node(named: "inference"))
        XCTAssertEqual(node.memoryUsed, (1000 + 2 * 100) << 20, "base + the two cached versions")
        let replica = try XCTUnwrap(outcome.simulation.serving.replicas["inference"])
        XCTAssertEqual(replica.cached.map(\.key), [ModelKey(ModelsService.key(tenant: "t1", model: Self.model), 2), ModelKey(ModelsService.key(tenant: "t1", model: Self.model), 3)])
        XCTAssertEqual(replica.evictions, 1)
        XCTAssertEqual(replica.cached.map(\.pins), [0, 0], "no request holds a pin after its answer")
    }

    func testB1KeepsEvictedVersionsResident() throws {
        let outcome = ServiceHarness.run("inference", defects: DefectSet([.B1]), throughGateway: true, serving: Self.serving(cache: 2, baseMiB: 1000),
                                         Self.register(4, mib: 100) + [Self.predict(1), Self.predict(2), Self.predict(3), Self.predict(4)])
        let node = try XCTUnwrap(outcome.simulation.node(named: "inference"))
        let replica = try XCTUnwrap(outcome.simulation.serving.replicas["inference"])
        XCTAssertEqual(replica.cachedBytes, 200 << 20)
        XCTAssertEqual(replica.evictions, 2)
        XCTAssertEqual(node.memoryUsed, (1000 + 4 * 100) << 20, "the two evicted versions' memory is never returned")
    }

    func testVersionsBeyondTheNodesBudgetKillItForRunningOutOfMemory() throws {
        // 16 GiB nodes: 8 GiB of base memory and versions of 6 GiB each, a cache of 10.
        let outcome = ServiceHarness.run("inference", throughGateway: true, serving: Self.serving(cache: 10, baseMiB: 8192),
                                         Self.register(2, mib: 6144) + [Self.predict(1), Self.predict(2)])
        let node = try XCTUnwrap(outcome.simulation.node(named: "inference"))
        XCTAssertGreaterThanOrEqual(node.crashCount, 1)
        XCTAssertEqual(node.lastCrashReason, .outOfMemory)
        XCTAssertEqual(outcome.responses.last??.status, 504, "the killed replica never answered the request that needed the second version: the gateway timed out")
    }

    func testPromotedVersionsArriveFromTheDeploymentsTopicAndTheNewestAnswersUnversionedRequests() throws {
        let outcome = ServiceHarness.run("inference", throughGateway: true, serving: Self.serving(cache: 10, baseMiB: 0),
                                         Self.register(2, mib: 10, promote: true) + [ServiceHarness.pause(milliseconds: 3000), Self.predict(nil)])
        XCTAssertEqual(outcome.responses.last??.status, 200)
        XCTAssertEqual(outcome.responses.last??.body["version"], "2", "the newest Production version answers a request that names none")
        let replica = try XCTUnwrap(outcome.simulation.serving.replicas["inference"])
        // Both promotions came in one fetch: v1's move was superseded by v2's and never loaded.
        XCTAssertEqual(replica.cached.map(\.key), [ModelKey(ModelsService.key(tenant: "t1", model: Self.model), 2)])
        XCTAssertEqual(replica.loads, 1)
    }

    func testABatchKeepsOnlyTheLastProductionMoveOfEachModel() {
        func record(_ offset: Int, _ model: String, _ deployment: Deployment) -> KafkaRecord { KafkaRecord(offset: offset, key: model, value: deployment.value) }
        let batch = [
            record(0, "a", Deployment(ModelKey("a", 1), stage: .production)),
            record(1, "a", Deployment(ModelKey("a", 2), stage: .staging)),
            record(2, "b", Deployment(ModelKey("b", 1), stage: .production)),
            record(3, "a", Deployment(ModelKey("a", 2), stage: .staging, canaryPercent: 10, generation: 1)),
            record(4, "a", Deployment(ModelKey("a", 2), stage: .production)),
            KafkaRecord(offset: 5, key: "a", value: Array("garbage".utf8)),
            record(6, "a", Deployment(ModelKey("a", 1), stage: .production)),  // a rollback: the last move wins
        ]
        XCTAssertEqual(InferenceService.newestProduction(batch).map(\.offset), [1, 2, 3, 5, 6])
        XCTAssertEqual(InferenceService.newestProduction([]), [])
    }

    /// A request with the wrong number of features is 422; a request naming no version needs a
    /// Production version (404 without one); a version that was never registered cannot be loaded (503).
    func testRequestsAreValidatedAndUnversionedRequestsNeedAProductionVersion() {
        let outcome = ServiceHarness.run("inference", throughGateway: true, serving: Self.serving(cache: 2, baseMiB: 0),
                                         Self.register(1, mib: 10) + [Self.predict(1, x: "1,2"), Self.predict(nil), Self.predict(7)])
        XCTAssertEqual(outcome.responses.suffix(3).map { $0?.status }, [422, 404, 503])
        XCTAssertEqual(outcome.responses.suffix(3).map { $0?.body["error"] }, [
            "t1/fraud v1 expects 3 features, got 2", "no version of t1/fraud is in Production", "cannot load t1/fraud v7",
        ])
    }

    /// Rolling back (the newer version archived, the older one staged and promoted again) moves
    /// the requests that name no version back to the older version on every replica.
    func testARollbackMovesUnversionedRequestsBackToTheOlderVersion() {
        func stage(_ version: Int, _ stage: String) -> HTTPRequest {
            HTTPRequest("POST", "registry/stages", body: ["model": Self.model, "version": "\(version)", "stage": stage])
        }
        let outcome = ServiceHarness.run("inference", throughGateway: true, serving: Self.serving(cache: 10, baseMiB: 0),
                                         Self.register(2, mib: 10, promote: true) + [ServiceHarness.pause(milliseconds: 3000), Self.predict(nil),
                                                                                     stage(1, "Staging"), stage(1, "Production"), ServiceHarness.pause(milliseconds: 3000), Self.predict(nil)])
        XCTAssertEqual(outcome.responses[outcome.responses.count - 5]?.body["version"], "2")
        XCTAssertEqual(outcome.responses.last??.body["version"], "1", "after the rollback")
    }
}

/// Warm-up before traffic, and requests validated against the serving version's own signature.
final class InferenceWarmUpAndSchemaTests: XCTestCase {
    static let model = "ranker"

    static func deploy(_ version: Int64, features: [String], stage: String = "Production") -> [HTTPRequest] {
        let weights = [Float](repeating: 0.1, count: features.count + 1)
        let bytes = ModelArtifact(model: model, version: version, residentMiB: 10, weights: weights, features: features).encoded
        return [HTTPRequest("POST", "registry/versions", body: ["model": model, "artifact": hexBytes(bytes), "checksum": hexString(crc32(bytes))]),
                HTTPRequest("POST", "registry/stages", body: ["model": model, "version": "\(version)", "stage": stage])]
    }

    static func predict(_ version: Int64, _ features: String) -> HTTPRequest {
        HTTPRequest("POST", "inference/predict", body: ["model": model, "version": "\(version)", "features": features])
    }

    static var serving: ServingConfiguration {
        var serving = ServingConfiguration()
        serving.coldStartMillis = 1000
        serving.predictionMillis = 10 ... 10
        return serving
    }

    static let create = HTTPRequest("POST", "models/create", body: ["name": model, "signature": "age:float,income:float"])

    func testADeployedVersionIsWarmedUpBeforeItsFirstRequest() {
        let outcome = ServiceHarness.run("inference", throughGateway: true, serving: Self.serving,
                                         [Self.create] + Self.deploy(1, features: ["age", "income"]) + [ServiceHarness.pause(milliseconds: 4000), Self.predict(1, "age=30,income=2")])
        XCTAssertEqual(outcome.responses.last??.status, 200)
        XCTAssertEqual(outcome.responses.last??.body["compute_ms"], "10", "the warm-up paid the cold start before traffic")
    }

    func testB5FirstRequestPaysTheColdStart() {
        let outcome = ServiceHarness.run("inference", defects: DefectSet([.B5]), throughGateway: true, serving: Self.serving,
                                         [Self.create] + Self.deploy(1, features: ["age", "income"]) + [ServiceHarness.pause(milliseconds: 4000)]
                                            + [Self.predict(1, "age=30,income=2"), Self.predict(1, "age=30,income=2")])
        XCTAssertEqual(outcome.simulation.serving.computed.map(\.millis), [1010, 10], "the first request built the graph; the second is steady")
    }

    func testNamedFeaturesMustCoverTheServingVersionsSignature() {
        let outcome = ServiceHarness.run("inference", throughGateway: true, serving: Self.serving,
                                         [Self.create] + Self.deploy(1, features: ["age", "income"]) + Self.deploy(2, features: ["age", "income", "segment"], stage: "Staging")
                                            + [ServiceHarness.pause(milliseconds: 6000), Self.predict(2, "age=30,income=2"), Self.predict(2, "income=2,age=30,segment=1,extra=9"),
                                               Self.predict(1, "age=30,income=x")])
        let answers = outcome.responses.suffix(3)
        XCTAssertEqual(answers.map { $0?.status }, [422, 200, 400])
        XCTAssertEqual(answers.first??.body["error"], "t1/ranker v2 needs feature 'segment' (signature age,income,segment)")
        let expected = LogisticModel.sigmoid(LogisticModel.score([0.1, 0.1, 0.1, 0.1], [30, 2, 1]))
        XCTAssertEqual(Float(answers.dropFirst().first??.body["p"] ?? ""), expected, "named values placed in the signature's order; extra names ignored")
    }

    func testB7AcceptsARequestMissingAFeatureTheVersionAdded() {
        let outcome = ServiceHarness.run("inference", defects: DefectSet([.B7]), throughGateway: true, serving: Self.serving,
                                         [Self.create] + Self.deploy(1, features: ["age", "income"]) + Self.deploy(2, features: ["age", "income", "segment"], stage: "Staging")
                                            + [ServiceHarness.pause(milliseconds: 6000), Self.predict(2, "age=30,income=2")])
        XCTAssertEqual(outcome.responses.last??.status, 200, "validated against v1's signature, segment defaulted")
        let defaulted = LogisticModel.sigmoid(LogisticModel.score([0.1, 0.1, 0.1, 0.1], [30, 2, 0]))
        XCTAssertEqual(Float(outcome.responses.last??.body["p"] ?? ""), defaulted)
    }

    static func deployText() -> [HTTPRequest] {
        let artifact = ModelArtifact(model: model, version: 1, residentMiB: 10, weights: [2.0, 1.5, 1.0, 0.5, -0.5, -1.0, -1.5, -2.0, 0.1],
                                     text: TextPreprocessing(length: 8, vocabulary: 64, padding: .right))
        let bytes = artifact.encoded
        return [HTTPRequest("POST", "registry/versions", body: ["model": model, "artifact": hexBytes(bytes), "checksum": hexString(crc32(bytes))]),
                HTTPRequest("POST", "registry/stages", body: ["model": model, "version": "1", "stage": "Production"])]
    }
    static func predictText(_ text: String) -> HTTPRequest { HTTPRequest("POST", "inference/predict", body: ["model": model, "text": text]) }

    /// A text model's request is pre-processed as its artifact records (right padding): the answer
    /// is the offline replay's (0.8822656 for this ticket, see `TextPreprocessingTests`).
    func testATextIsPreprocessedAsTheModelWasTrained() {
        let outcome = ServiceHarness.run("inference", throughGateway: true, serving: Self.serving,
                                         [Self.create] + Self.deployText() + [ServiceHarness.pause(milliseconds: 4000), Self.predictText("Drift alert on feature age")])
        XCTAssertEqual(outcome.responses.last??.status, 200)
        XCTAssertEqual(Double(outcome.responses.last??.body["p"] ?? "") ?? 0, 0.8822656618648134, accuracy: 1e-6)
    }

    /// A text sent to a numeric model is refused (422), naming the version.
    func testATextToANumericModelIsRefused() {
        let outcome = ServiceHarness.run("inference", throughGateway: true, serving: Self.serving,
                                         [Self.create] + Self.deploy(1, features: ["age", "income"]) + [ServiceHarness.pause(milliseconds: 4000), Self.predictText("refund")])
        XCTAssertEqual(outcome.responses.last??.status, 422)
        XCTAssertEqual(outcome.responses.last??.body["error"], "t1/ranker v1 is not a text model: send x or features")
    }

    /// A text above 64 KiB, or sent with features beside it, is refused (400) before any version is
    /// loaded; a text without a word is 422.
    func testAnOversizedMixedOrWordlessTextIsRefused() {
        var mixed = Self.predictText("refund")
        mixed.body["features"] = "age=30"
        let outcome = ServiceHarness.run("inference", throughGateway: true, serving: Self.serving,
                                         [Self.create] + Self.deployText() + [ServiceHarness.pause(milliseconds: 4000),
                                          Self.predictText(String(repeating: "a ", count: 32_769)), mixed, Self.predictText(" -- ")])
        XCTAssertEqual(outcome.responses.suffix(3).map { $0?.status }, [400, 400, 422])
        XCTAssertEqual(outcome.responses.suffix(3).map { $0?.body["error"] },
                       ["text: 65538 bytes, at most 65536", "text: send text, x or features, not several", "text: no words (letters or digits) to predict on"])
    }

    /// M10: serving pads on the left, so the same ticket's words meet the last positions' weights
    /// (0.0491490 where training gives 0.8822656).
    func testM10PadsOnTheLeftAndAnswersAnotherProbability() {
        let outcome = ServiceHarness.run("inference", defects: DefectSet([.M10]), throughGateway: true, serving: Self.serving,
                                         [Self.create] + Self.deployText() + [ServiceHarness.pause(milliseconds: 4000), Self.predictText("Drift alert on feature age")])
        XCTAssertEqual(outcome.responses.last??.status, 200)
        XCTAssertEqual(Double(outcome.responses.last??.body["p"] ?? "") ?? 0, 0.04914904077872271, accuracy: 1e-6)
    }
}
