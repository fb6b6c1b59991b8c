import XCTest
@testable import SimKernel
@testable import SimServices

/// The elastic job's stored formats: the rendezvous value, shard files and manifests.
final class ElasticCheckpointFormatTests: XCTestCase {
    func testRendezvousStateRoundTripsAndRanksAreListPlaces() {
        let state = RendezvousState(generation: 4, members: ["elastic-1", "elastic-0", "elastic-3"])
        XCTAssertEqual(state.encoded, "4|elastic-1,elastic-0,elastic-3")
        XCTAssertEqual(RendezvousState(encoded: state.encoded), state)
        XCTAssertEqual(state.rank(of: "elastic-0"), 1)
        XCTAssertNil(state.rank(of: "elastic-2"))
        XCTAssertEqual(RendezvousState(encoded: "0|"), RendezvousState(generation: 0, members: []))
        XCTAssertNil(RendezvousState(encoded: "x|a"))
        XCTAssertNil(RendezvousState(encoded: "3"))
    }

    func testAShardRoundTripsBitForBit() {
        let values: [Float] = [0.1, -0.0, .greatestFiniteMagnitude, 1e-40]
        let bytes = ElasticCheckpoints.encodeShard(step: 15, generation: 4, rank: 2, world: 3, values: values)
        XCTAssertEqual(bytes.count, 5 * 8 + 4 * 4)
        let decoded = ElasticCheckpoints.decodeShard(bytes)
        XCTAssertEqual(decoded?.step, 15)
        XCTAssertEqual(decoded?.generation, 4)
        XCTAssertEqual(decoded?.rank, 2)
        XCTAssertEqual(decoded?.world, 3)
        XCTAssertEqual(decoded?.values.map(\.bitPattern), values.map(\.bitPattern))
    }

    func testATruncatedShardIsNotDecoded() {
        let bytes = ElasticCheckpoints.encodeShard(step: 5, generation: 1, rank: 0, world: 2, values: [1, 2, 3])
        XCTAssertNil(ElasticCheckpoints.decodeShard(Array(bytes.dropLast())))
        XCTAssertNil(ElasticCheckpoints.decodeShard(Array(bytes.prefix(20))))
    }

    func testAManifestRoundTripsAndRejectsGarbage() {
        let manifest = ElasticCheckpoints.Manifest(step: 10, generation: 3, world: 2, shards: [("job/ckpt-10/g3-rank-0-of-2", 0xDEAD_BEEF), ("job/ckpt-10/g3-rank-1-of-2", 7)])
        XCTAssertEqual(String(decoding: manifest.encoded, as: UTF8.self), "10 3 2\njob/ckpt-10/g3-rank-0-of-2 deadbeef\njob/ckpt-10/g3-rank-1-of-2 7")
        XCTAssertEqual(ElasticCheckpoints.Manifest(manifest.encoded), manifest)
        XCTAssertNil(ElasticCheckpoints.Manifest(Array("10 3\n".utf8)))
        XCTAssertNil(ElasticCheckpoints.Manifest(Array("10 3 2\nkey not-hex".utf8)))
    }

    func testManifestKeysOrderNumericallyForTheReaderAndAsTextForA10() {
        let checkpoints = ElasticCheckpoints(store: ObjectStoreClient(server: Address(node: NodeID(0), service: "s3")), job: "job", layers: [8, 1], defects: .empty)
        let keys = [5, 10, 15].map { checkpoints.manifestKey(step: $0, generation: 3) }
        XCTAssertEqual(keys.sorted().last, "job/manifest-5-g3")  // what A10 resumes from
        XCTAssertEqual(keys.compactMap { checkpoints.order(ofManifest: $0)?.step }.max(), 15)
        XCTAssertNil(checkpoints.order(ofManifest: "job/manifest-x-g3"))
        XCTAssertEqual(checkpoints.order(ofManifest: "job/manifest-20-g12")?.generation, 12)
    }
}
