import XCTest
@testable import SimKernel
@testable import SimServices

final class StorageServiceTests: XCTestCase {
    /// An artifact is stored and read back with its ETag (the CRC-32 of its bytes).
    func testAnArtifactIsStoredAndReadBack() {
        let outcome = ServiceHarness.run("storage", [HTTPRequest("PUT", "storage/artifacts", body: ["key": "datasets/iris.csv", "content": "5.1,3.5"])])
        XCTAssertEqual(outcome.responses.first??.body["etag"], hexString(crc32(Array("5.1,3.5".utf8))))
        XCTAssertEqual(try? outcome.view.object(bucket: "artifacts", key: "t1/datasets/iris.csv")?.get(), Array("5.1,3.5".utf8), "in t1's folder (the platform's own)")
        XCTAssertEqual(StorageService.invariants(outcome.view), [])
    }

    /// Each tenant's artifacts are its own: t1's engineer stores `reports/q3`; bob of t2 asking
    /// for the same key gets 404 (his folder has none) and storing it makes his own; each reads
    /// back its own content; an upload's traversal key is refused and logged.
    func testEachTenantReadsAndWritesOnlyItsOwnArtifacts() {
        let engineer = ModelTenancyTests.engineer, bob = ModelTenancyTests.bob
        let put = { (content: String, headers: [String: String]) in HTTPRequest("PUT", "storage/artifacts", body: ["key": "reports/q3", "content": content], headers: headers) }
        let get = { (headers: [String: String]) in HTTPRequest("GET", "storage/artifacts", body: ["key": "reports/q3"], headers: headers) }
        let outcome = ServiceHarness.run("storage", [
            put("t1 numbers", engineer), get(bob), put("t2 numbers", bob), get(engineer), get(bob),
            HTTPRequest("PUT", "storage/artifacts", body: ["key": "../t1/reports/q3", "content": "overwritten"], headers: bob),
        ])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 404, 200, 200, 200, 400])
        XCTAssertEqual(outcome.responses[3]?.body["content"], "t1 numbers")
        XCTAssertEqual(outcome.responses[4]?.body["content"], "t2 numbers")
        XCTAssertEqual(outcome.simulation.security.refusals.map { "\($0.caller): \($0.reason) \($0.detail)" }, ["bob@t2: artifact key: traversal (..) ../t1/reports/q3"])
        XCTAssertEqual(try? outcome.view.object(bucket: "artifacts", key: "t1/reports/q3")?.get(), Array("t1 numbers".utf8))
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
