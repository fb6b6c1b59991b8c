import XCTest
@testable import SimKernel
@testable import SimServices

final class FeaturesServiceTests: XCTestCase {
    /// A value written is read back from Redis and versioned; an empty entity is 400.
    func testAFeatureValueIsStoredAndVersioned() {
        let outcome = ServiceHarness.run("features", [HTTPRequest("PUT", "features/values", body: ["entity": "user-1", "value": "0.5"]),
                                                      HTTPRequest("PUT", "features/values", body: ["entity": "user-1", "value": "0.7"]),
                                                      HTTPRequest("PUT", "features/values", body: ["entity": "", "value": "1"])])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 200, 400])
        XCTAssertEqual(outcome.responses[1]?.body["value"], "0.7")
        XCTAssertEqual(FeaturesService.invariants(outcome.view), [])
    }

    /// The invariant reads Redis's append-only file: a value with no version increment after it
    /// (followed by another write) is reported.
    func testTheInvariantFindsAValueWrittenWithoutItsVersion() {
        let outcome = ServiceHarness.run("features", [HTTPRequest("PUT", "features/values", body: ["entity": "user-1", "value": "0.5"])])
        let redis = outcome.simulation.node(named: "redis")!
        for command in [RedisCommand.set("feature:user-2", "1", onlyIfAbsent: false, expireMs: nil), .set("feature:user-3", "1", onlyIfAbsent: false, expireMs: nil)] {
            try! redis.disk.append("appendonly.aof", RecordLog.encode(JSONDecoderLite().encode(command)!))
        }
        XCTAssertEqual(FeaturesService.invariants(outcome.view), ["features: feature:user-2 was written without its version"])
    }
}
