import XCTest
@testable import SimKernel
@testable import SimServices

final class StorageServiceTests: XCTestCase {
    /// An artifact is stored and read back with its ETag (the CRC-32 of its bytes).
    func testAnArtifactIsStoredAndReadBack() {
        let outcome = ServiceHarness.run("storage", [HTTPRequest("PUT", "storage/artifacts", body: ["key": "datasets/iris.csv", "content": "5.1,3.5"])])
        XCTAssertEqual(outcome.responses.first??.body["etag"], hexString(crc32(Array("5.1,3.5".utf8))))
        XCTAssertEqual(try? outcome.view.object(bucket: "artifacts", key: "datasets/iris.csv")?.get(), Array("5.1,3.5".utf8))
        XCTAssertEqual(StorageService.invariants(outcome.view), [])
    }

    func testTheInvariantFindsACheckpointThatDoesNotDecode() {
        let outcome = ServiceHarness.run("storage", [HTTPRequest("PUT", "storage/artifacts", body: ["key": "a", "content": "b"])])
        let junk: [UInt8] = Array("not a checkpoint".utf8)
        var header = ByteWriter()
        header.u32(crc32(junk))
        try! outcome.simulation.node(named: "minio")!.disk.writeAll("buckets/checkpoints/o/job/step-1", header.bytes + junk)
        XCTAssertEqual(StorageService.invariants(outcome.view), ["storage: checkpoint job/step-1 does not decode"])
    }
}
