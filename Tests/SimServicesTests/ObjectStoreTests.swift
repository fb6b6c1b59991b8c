import XCTest
@testable import SimKernel
@testable import SimServices

final class ObjectStoreTests: XCTestCase {
    func s3(_ node: Node) -> ObjectStoreClient { ObjectStoreClient(server: Address(node: node.id, service: "s3")) }

    func testBucketsPutGetAndConditionalWrites() {
        var log: [String] = []
        _ = runInfra(serverName: "minio", server: { await ObjectStoreServer.run(context: $0) }) { context, node in
            let s3 = self.s3(node)
            log.append("\(await s3.request(.createBucket("models"), context: context))")
            log.append("\(await s3.request(.createBucket("models"), context: context))")
            log.append("\(await s3.request(.createBucket("Bad_Name"), context: context))")
            _ = await s3.request(.put(bucket: "models", key: "m/1", bytes: [1, 2, 3], ifNoneMatch: true), context: context)
            log.append("\(await s3.request(.put(bucket: "models", key: "m/1", bytes: [9], ifNoneMatch: true), context: context))")
            if case .success(.object(let bytes, _)) = await s3.request(.get(bucket: "models", key: "m/1"), context: context) { log.append("\(bytes)") }
            log.append("\(await s3.request(.get(bucket: "nope", key: "x"), context: context))")
        }
        XCTAssertEqual(log, [
            "success(SimServices.ObjectStoreReply.ok)", "success(SimServices.ObjectStoreReply.ok)",
            "failure(InvalidBucketName: 'Bad_Name')", "failure(PreconditionFailed: m/1 exists (If-None-Match))",
            "[1, 2, 3]", "failure(NoSuchBucket: nope)",
        ])
    }

    func testMultipartUploadIsInvisibleUntilCompleteAndAbortDiscards() {
        var log: [String] = []
        _ = runInfra(serverName: "minio", server: { await ObjectStoreServer.run(context: $0) }) { context, node in
            let s3 = self.s3(node)
            _ = await s3.request(.createBucket("artifacts"), context: context)
            guard case .success(.upload(let id)) = await s3.request(.initiateMultipart(bucket: "artifacts", key: "big"), context: context) else { return }
            _ = await s3.request(.uploadPart(uploadID: id, part: 2, bytes: [3, 4]), context: context)
            _ = await s3.request(.uploadPart(uploadID: id, part: 1, bytes: [1, 2]), context: context)
            log.append("before: \(await s3.request(.list(bucket: "artifacts", prefix: ""), context: context))")
            _ = await s3.request(.completeMultipart(uploadID: id, parts: [1, 2]), context: context)
            if case .success(.object(let bytes, _)) = await s3.request(.get(bucket: "artifacts", key: "big"), context: context) { log.append("after: \(bytes)") }
            guard case .success(.upload(let other)) = await s3.request(.initiateMultipart(bucket: "artifacts", key: "tmp"), context: context) else { return }
            _ = await s3.request(.uploadPart(uploadID: other, part: 1, bytes: [7]), context: context)
            _ = await s3.request(.abortMultipart(uploadID: other), context: context)
            log.append("aborted: \(await s3.request(.completeMultipart(uploadID: other, parts: [1]), context: context))")
        }
        XCTAssertEqual(log, ["before: success(SimServices.ObjectStoreReply.keys([]))", "after: [1, 2, 3, 4]", "aborted: failure(NoSuchUpload: upload-0-2)"])
    }

    func testMultipartPartsSurviveARestartOfTheStore() {
        var log: [String] = []
        _ = runInfra(serverName: "minio", server: { await ObjectStoreServer.run(context: $0) }) { context, node in
            let s3 = self.s3(node)
            _ = await s3.request(.createBucket("artifacts"), context: context)
            guard case .success(.upload(let id)) = await s3.request(.initiateMultipart(bucket: "artifacts", key: "ckpt"), context: context) else { return }
            _ = await s3.request(.uploadPart(uploadID: id, part: 1, bytes: [5, 6]), context: context)
            node.crash()
            node.restart()
            _ = await s3.request(.uploadPart(uploadID: id, part: 2, bytes: [7]), context: context)
            _ = await s3.request(.completeMultipart(uploadID: id, parts: [1, 2]), context: context)
            if case .success(.object(let bytes, _)) = await s3.request(.get(bucket: "artifacts", key: "ckpt"), context: context) { log.append("\(bytes)") }
            log.append("\(node.disk.list(prefix: "uploads/"))")
        }
        XCTAssertEqual(log, ["[5, 6, 7]", "[]"])
    }

    /// A PUT interrupted by a crash at any disk operation leaves the old object or the new one,
    /// never a partial one (100 crash points, torn writes on).
    func testPutIsAtomicUnderCrashes() {
        for k in 1 ... 100 {
            var disk = DiskOptions()
            disk.tornWriteProbability = Ratio(1, 2)
            var read: [UInt8]?
            _ = runInfra(seed: UInt64(k), serverName: "minio", disk: disk, server: { await ObjectStoreServer.run(context: $0) }, client: { context, node in
                let s3 = self.s3(node)
                _ = await s3.request(.createBucket("bkt"), context: context)
                _ = await s3.request(.put(bucket: "bkt", key: "obj", bytes: [UInt8](repeating: 1, count: 2000), ifNoneMatch: false), context: context)
                let base = node.disk.operationCount
                node.disk.afterOperation = { count in if count == base + (k % 7) + 1 { node.crash() } }
                _ = await s3.request(.put(bucket: "bkt", key: "obj", bytes: [UInt8](repeating: 2, count: 3000), ifNoneMatch: false), context: context)
                node.disk.afterOperation = nil
                if node.state == .crashed { node.restart() }
                if case .success(.object(let bytes, _)) = await s3.request(.get(bucket: "bkt", key: "obj"), context: context) { read = bytes }
            })
            XCTAssertTrue(read == [UInt8](repeating: 1, count: 2000) || read == [UInt8](repeating: 2, count: 3000), "crash point \(k): \(read?.count ?? -1) bytes")
        }
    }

    func testCorruptionIsDetectedOnRead() {
        var result: String?
        _ = runInfra(serverName: "minio", server: { await ObjectStoreServer.run(context: $0) }) { context, node in
            let s3 = self.s3(node)
            _ = await s3.request(.createBucket("bkt"), context: context)
            _ = await s3.request(.put(bucket: "bkt", key: "k", bytes: [1, 2, 3, 4], ifNoneMatch: false), context: context)
            var bytes = try! node.disk.readAll("buckets/bkt/o/k")
            bytes[5] ^= 0x40
            try! node.disk.writeAll("buckets/bkt/o/k", bytes)
            if case .failure(let error) = await s3.request(.get(bucket: "bkt", key: "k"), context: context) { result = "\(error)" }
        }
        XCTAssertEqual(result, "checksum mismatch reading k")
    }
}
