import XCTest
@testable import SimKernel
@testable import SimServices

/// Metric summaries (E7) and run artifacts uploaded in parts (E5), through the real experiments
/// service, its SQLite database and the object store.
final class RunArtifactsAndSummariesTests: XCTestCase {
    func run(_ requests: [HTTPRequest], defects: DefectSet = .empty) -> ServiceHarness.Outcome {
        ServiceHarness.run("experiments", defects: defects, requests)
    }

    let createRun = HTTPRequest("POST", "experiments/runs", body: ["run_key": "books", "experiment": "e", "seed": "1"])

    func log(step: Int, _ value: Int) -> HTTPRequest {
        HTTPRequest("POST", "experiments/metrics", body: ["run": "1", "step": "\(step)", "metric.examples_seen": "\(value)"])
    }

    func summary(_ key: String = "examples_seen") -> HTTPRequest { HTTPRequest("GET", "experiments/metrics/summary", body: ["run": "1", "key": key]) }

    static let parts: [[UInt8]] = (0 ..< 3).map { part in (0 ..< 40).map { UInt8(($0 * 7 + part * 31) % 256) } }
    static let whole = parts.flatMap { $0 }

    func part(_ index: Int, name: String = "model.bin", parts: Int = 3) -> HTTPRequest {
        HTTPRequest("POST", "experiments/artifacts/part", body: ["run": "1", "name": name, "part": "\(index)", "parts": "\(parts)", "data": hexBytes(Self.parts[index])])
    }

    func commit(name: String = "model.bin", size: Int = whole.count, sha256: String = SHA256.hex(SHA256.hash(whole))) -> HTTPRequest {
        HTTPRequest("POST", "experiments/artifacts/commit", body: ["run": "1", "name": name, "parts": "3", "size": "\(size)", "sha256": sha256])
    }

    func read(_ name: String = "model.bin") -> HTTPRequest { HTTPRequest("GET", "experiments/artifacts", body: ["run": "1", "name": name]) }

    // MARK: summaries

    func testASummaryCountsSumsAndBoundsTheStoredPoints() {
        let outcome = run([createRun, log(step: 0, 5), log(step: 1, 3), log(step: 2, 10), summary()])
        let body = outcome.responses[4]?.body ?? [:]
        XCTAssertEqual(outcome.responses[4]?.status, 200)
        XCTAssertEqual(body["count"], "3")
        XCTAssertEqual(body["sum"], "18.0")
        XCTAssertEqual(body["min"], "3.0")
        XCTAssertEqual(body["max"], "10.0")
        XCTAssertEqual(body["mean"], "6.0")
    }

    func testASummaryOfCountersPast2To31IsExact() {
        // Eight points of 3e8 sum to 2.4e9 > 2^31 - 1.
        let outcome = run([createRun] + (0 ..< 8).map { log(step: $0, 300_000_000) } + [summary()])
        XCTAssertEqual(outcome.responses[9]?.body["sum"], "2400000000.0")
    }

    func testE7WrapsTheSumPast2To31() {
        let outcome = run([createRun] + (0 ..< 8).map { log(step: $0, 300_000_000) } + [summary()], defects: DefectSet([.E7]))
        // 2,400,000,000 - 2^32 = -1,894,967,296.
        XCTAssertEqual(outcome.responses[9]?.body["sum"], "-1894967296.0")
    }

    func testARepeatedStepIsSummarisedOnce() {
        let outcome = run([createRun, log(step: 0, 5), log(step: 0, 5), summary()])
        XCTAssertEqual(outcome.responses[3]?.body["count"], "1")
        XCTAssertEqual(outcome.responses[3]?.body["sum"], "5.0")
    }

    // MARK: artifacts

    func testACommittedArtifactReadsBackWhole() {
        let outcome = run([createRun, part(0), part(1), part(2), commit(), read()])
        XCTAssertEqual(outcome.responses[4]?.status, 200)
        XCTAssertEqual(outcome.responses[4]?.body["sha256"], SHA256.hex(SHA256.hash(Self.whole)))
        XCTAssertEqual(outcome.responses[5]?.status, 200)
        XCTAssertEqual(outcome.responses[5]?.body["data"], hexBytes(Self.whole))
        XCTAssertEqual(outcome.responses[5]?.body["size"], "120")
    }

    func testPartsMayArriveInAnyOrderAndTwice() {
        let outcome = run([createRun, part(2), part(0), part(0), part(1), commit(), read()])
        XCTAssertEqual(outcome.responses[6]?.body["data"], hexBytes(Self.whole))
    }

    func testAnAbandonedUploadIsNotReadable() {
        let outcome = run([createRun, part(0), part(1), read()])
        XCTAssertEqual(outcome.responses[3]?.status, 404)
    }

    func testE5ServesAnAbandonedUploadPartially() {
        let outcome = run([createRun, part(0), part(1), read()], defects: DefectSet([.E5]))
        XCTAssertEqual(outcome.responses[3]?.status, 200)
        XCTAssertEqual(outcome.responses[3]?.body["data"], hexBytes(Self.parts[0] + Self.parts[1]))
    }

    func testACommitWithAMissingPartIsAConflictAndStoresNothing() {
        let outcome = run([createRun, part(0), part(2), commit(), read()])
        XCTAssertEqual(outcome.responses[3]?.status, 409)
        XCTAssertTrue(outcome.responses[3]?.body["error"]?.contains("part 1") ?? false, "\(outcome.responses[3]?.body ?? [:])")
        XCTAssertEqual(outcome.responses[4]?.status, 404)
    }

    func testACommitWhoseDigestDiffersIsAConflict() {
        let outcome = run([createRun, part(0), part(1), part(2), commit(sha256: String(repeating: "a", count: 64)), read()])
        XCTAssertEqual(outcome.responses[4]?.status, 409)
        XCTAssertEqual(outcome.responses[5]?.status, 404)
    }

    func testArtifactNamesThatCouldLeaveTheRunAreRefused() {
        let outcome = run([createRun, part(0, name: "../x"), read("..%2Fx"), read(".hidden")])
        XCTAssertEqual(outcome.responses[1...].map { $0?.status }, [400, 400, 400])
    }

    func testAPartOfAnUnknownRunIsNotFound() {
        let outcome = run([HTTPRequest("POST", "experiments/artifacts/part", body: ["run": "9", "name": "m", "part": "0", "parts": "1", "data": "00"])])
        XCTAssertEqual(outcome.responses[0]?.status, 404)
    }

    func testAPartOutsideItsUploadIsRefused() {
        let outcome = run([createRun, part(0, parts: 0), HTTPRequest("POST", "experiments/artifacts/part", body: ["run": "1", "name": "m", "part": "3", "parts": "3", "data": "00"]),
                           HTTPRequest("POST", "experiments/artifacts/part", body: ["run": "1", "name": "m", "part": "0", "parts": "1", "data": "zz"])])
        XCTAssertEqual(outcome.responses[1...].map { $0?.status }, [400, 400, 400])
    }
}
