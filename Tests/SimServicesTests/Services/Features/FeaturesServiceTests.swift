import XCTest
@testable import SimKernel
@testable import SimServices

final class FeaturesServiceTests: XCTestCase {
    /// A value written is read back from Redis and its version counted (two writes, version 2);
    /// an empty entity is 400.
    func testAFeatureValueIsStoredAndVersioned() {
        let outcome = ServiceHarness.run("features", [HTTPRequest("PUT", "features/values", body: ["entity": "user-1", "value": "0.5"]),
                                                      HTTPRequest("PUT", "features/values", body: ["entity": "user-1", "value": "0.7"]),
                                                      HTTPRequest("PUT", "features/values", body: ["entity": "", "value": "1"])])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 200, 400])
        XCTAssertEqual(outcome.responses[1]?.body["value"], "0.7")
        let log = try! outcome.simulation.node(named: "redis")!.disk.readAll("appendonly.aof")
        let increments = RecordLog.decodeAll(log).compactMap { RedisAppendOnlyFile().decode($0) }.filter { $0 == .incr("feature:user-1:version") }
        XCTAssertEqual(increments.count, 2, "one version per value written")
        XCTAssertEqual(FeaturesService.invariants(outcome.view), [])
    }

    /// The invariant reads Redis's append-only file: a version increment for an entity whose value
    /// was never written is reported.
    func testTheInvariantFindsAVersionWithoutAValue() {
        let outcome = ServiceHarness.run("features", [HTTPRequest("PUT", "features/values", body: ["entity": "user-1", "value": "0.5"])])
        let redis = outcome.simulation.node(named: "redis")!
        try! redis.disk.append("appendonly.aof", RecordLog.encode(RedisAppendOnlyFile().encode(RedisCommand.incr("feature:user-2:version"))!))
        XCTAssertEqual(FeaturesService.invariants(outcome.view), ["features: feature:user-2 got a version before any value was written"])
    }
}
