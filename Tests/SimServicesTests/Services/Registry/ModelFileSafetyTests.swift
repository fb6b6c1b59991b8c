import XCTest
@testable import SimKernel
@testable import SimServices

/// Model files are weights only: the registry refuses (and logs) anything else, inference never
/// unpickles, and I3 lets a pickle through to run its payload on the replica that loads it.
final class ModelFileSafetyTests: XCTestCase {
    static let model = "ranker"
    static let weights: [Float] = [0.25, -1.5, 2]
    static let exploit = LegacyPickle.file(weights: weights, callable: "posix.system", payload: "id > /tmp/owned")

    static func register(_ bytes: [UInt8], promote: Bool = false) -> [HTTPRequest] {
        [HTTPRequest("POST", "registry/versions", body: ["model": model, "artifact": hexBytes(bytes), "checksum": hexString(crc32(bytes))])]
            + (promote ? [HTTPRequest("POST", "registry/stages", body: ["model": model, "version": "1", "stage": "Production"])] : [])
    }

    /// The crafted file is a real pickle program: the interpreter builds the weights from it and
    /// meets the `posix.system` call on the way; without a payload it makes no call.
    func testThePickleInterpreterRunsTheCraftedFilesCall() throws {
        let (weights, calls) = try XCTUnwrap(LegacyPickle.load(Self.exploit))
        XCTAssertEqual(weights, Self.weights)
        XCTAssertEqual(calls, [LegacyPickle.Call(callable: "posix.system", arguments: ["id > /tmp/owned"])])
        let plain = try XCTUnwrap(LegacyPickle.load(LegacyPickle.file(weights: Self.weights)))
        XCTAssertEqual(plain.calls, [])
        XCTAssertEqual(plain.weights, Self.weights)
    }

    /// Python's own bytes: `pickle.dumps([Exploit(), 1.0, -2.0], protocol=2)` where `Exploit`'s
    /// `__reduce__` returns `(os.system, ("id",))` (CPython 3 on Linux; `pickletools.dis` shows
    /// EMPTY_LIST, BINPUT, MARK, GLOBAL 'posix system', BINUNICODE 'id', TUPLE1, REDUCE,
    /// BINFLOAT 1.0, BINFLOAT -2.0, APPENDS, STOP). The interpreter runs the call and keeps the floats.
    func testTheInterpreterRunsPythonsOwnBytes() throws {
        let python: [UInt8] = [128, 2, 93, 113, 0, 40, 99, 112, 111, 115, 105, 120, 10, 115, 121, 115, 116, 101, 109, 10, 113, 1, 88, 2, 0, 0, 0, 105, 100, 113, 2,
                               133, 113, 3, 82, 113, 4, 71, 63, 240, 0, 0, 0, 0, 0, 0, 71, 192, 0, 0, 0, 0, 0, 0, 0, 101, 46]
        let (weights, calls) = try XCTUnwrap(LegacyPickle.load(python))
        XCTAssertEqual(weights, [1, -2])
        XCTAssertEqual(calls, [LegacyPickle.Call(callable: "posix.system", arguments: ["id"])])
        XCTAssertEqual(WeightsOnly.format(of: python), .pickle)
    }

    /// Truncated or malformed streams load nothing.
    func testMalformedPickleStreamsLoadNothing() {
        for cut in [3, 10, Self.exploit.count - 1] { XCTAssertNil(LegacyPickle.load(Array(Self.exploit.prefix(cut))), "cut at \(cut)") }
        XCTAssertNil(LegacyPickle.load([0x80, 0x02, UInt8(ascii: "R"), UInt8(ascii: ".")]), "REDUCE on an empty stack")
        XCTAssertNil(LegacyPickle.load([0x80, 0x02, 0xFF]), "unknown opcode")
    }

    /// The formats: a serving artifact and a checkpoint are weights only; a pickle (with or
    /// without payload) and anything else are not.
    func testWeightsOnlyFormatsAreTheServingArtifactAndTheCheckpoint() {
        let artifact = ModelArtifact(model: "m", version: 1, residentMiB: 1, weights: [1, 2]).encoded
        let checkpoint = Checkpoint(step: 3, workerClocks: [3], parameters: [1, 2]).encoded()
        XCTAssertEqual(WeightsOnly.format(of: artifact), .servingArtifact)
        XCTAssertEqual(WeightsOnly.format(of: checkpoint), .checkpoint)
        XCTAssertEqual(WeightsOnly.format(of: Self.exploit), .pickle)
        XCTAssertEqual(WeightsOnly.format(of: LegacyPickle.file(weights: [1])), .pickle)
        XCTAssertEqual(WeightsOnly.format(of: Array("weights: 1,2".utf8)), .unknown)
        var flipped = checkpoint
        flipped[9] ^= 1
        XCTAssertEqual(WeightsOnly.format(of: flipped), .unknown, "a checkpoint failing its CRC is not one")
    }

    /// The registry refuses a crafted pickle, a plain pickle and an unknown file (400, each logged
    /// with its format before the answer) and stores none of them; a serving artifact registers.
    func testTheRegistryRefusesEveryFileThatIsNotWeightsOnly() {
        let files = [Self.exploit, LegacyPickle.file(weights: Self.weights), Array("weights: 1,2".utf8),
                     ModelArtifact(model: Self.model, version: 1, residentMiB: 1, weights: Self.weights).encoded]
        let outcome = ServiceHarness.run("registry", files.flatMap { Self.register($0) })
        XCTAssertEqual(outcome.responses.map { $0?.status }, [400, 400, 400, 200])
        XCTAssertEqual(outcome.responses[0]?.body["error"], "refused: artifact is not weights-only: pickle stream")
        XCTAssertEqual(outcome.simulation.security.refusals.map(\.reason), [
            "artifact is not weights-only: pickle stream", "artifact is not weights-only: pickle stream", "artifact is not weights-only: unknown format",
        ])
        XCTAssertEqual(outcome.view.rows("models_db", "SELECT version FROM model_versions")?.map { $0[0].plain }, ["1"])
    }

    /// I3: the registry takes the crafted file, the promotion deploys it, and the replica that
    /// loads it runs `posix.system`; the safe-artifacts observations record the load and the call.
    func testI3RunsTheCraftedFilesPayloadOnTheReplicaThatLoadsIt() {
        let outcome = ServiceHarness.run("inference", defects: DefectSet([.I3]), throughGateway: true,
                                         [HTTPRequest("POST", "models/create", body: ["name": Self.model, "signature": "a:float,b:float"])]
                                            + Self.register(Self.exploit, promote: true) + [ServiceHarness.pause(milliseconds: 3000)])
        XCTAssertEqual(outcome.responses[1]?.status, 200, "I3 registers the pickle")
        let security = outcome.simulation.security
        XCTAssertEqual(security.payloadCalls.map { "\($0.model) v\($0.version) \($0.call.callable) \($0.call.arguments)" }, ["t1/ranker v1 posix.system [\"id > /tmp/owned\"]"])
        XCTAssertEqual(security.modelLoads.map { WeightsOnly.format(of: $0.bytes) }, [.pickle])
    }

    /// Without I3 the same pickle, had it reached the object store (written past the registry),
    /// is refused by the loader and logged, and nothing runs.
    func testTheLoaderRefusesAPickleThatReachedTheObjectStore() {
        let outcome = ServiceHarness.run("inference", throughGateway: true,
                                         [HTTPRequest("POST", "models/create", body: ["name": Self.model, "signature": "a:float,b:float"])]
                                            + Self.register(ModelArtifact(model: Self.model, version: 1, residentMiB: 1, weights: Self.weights).encoded)
                                            + [ServiceHarness.putObject(bucket: "models", key: "t1/\(Self.model)/1", bytes: Self.exploit),
                                               HTTPRequest("POST", "registry/stages", body: ["model": Self.model, "version": "1", "stage": "Production"]),
                                               ServiceHarness.pause(milliseconds: 3000)])
        let security = outcome.simulation.security
        XCTAssertEqual(security.payloadCalls.count, 0)
        XCTAssertEqual(security.modelLoads.count, 0)
        XCTAssertTrue(security.refusals.contains { $0.reason == "model file is a pickle stream, not a weights-only format" && $0.service == "inference" },
                      "\(security.refusals.map(\.reason))")
    }
}
