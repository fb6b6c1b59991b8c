import XCTest
@testable import SimKernel
@testable import SimServices

final class FeaturesServiceTests: XCTestCase {
    /// A value written is read back from Redis under its version (two writes: versions 1 and 2,
    /// each written fenced by its version); an empty entity is 400.
    func testAFeatureValueIsStoredAndVersioned() {
        let outcome = ServiceHarness.run("features", [HTTPRequest("PUT", "features/values", body: ["entity": "user-1", "value": "0.5"]),
                                                      HTTPRequest("PUT", "features/values", body: ["entity": "user-1", "value": "0.7"]),
                                                      HTTPRequest("PUT", "features/values", body: ["entity": "", "value": "1"])])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 200, 400])
        XCTAssertEqual(outcome.responses[1]?.body["value"], "0.7")
        let log = try! outcome.simulation.node(named: "redis")!.disk.readAll("appendonly.aof")
        let commands = RecordLog.decodeAll(log).compactMap { RedisAppendOnlyFile().decode($0) }
        XCTAssertEqual(commands.filter { $0 == .incr("feature:t1:user-1:version") }.count, 2, "one version per value written")
        let fenced = commands.compactMap { command -> UInt64? in if case .setFenced("online:default:t1:user-1", _, let token) = command { return token } else { return nil } }
        XCTAssertEqual(fenced, [OnlineStore.fence(1), OnlineStore.fence(2)], "each value written compare-and-set under its version")
        XCTAssertEqual(outcome.responses[1]?.body["version"], "2")
        XCTAssertEqual(FeaturesService.invariants(outcome.view), [])
    }

    /// The invariant reads Redis's append-only file: an online value whose version goes back
    /// (an older write after a newer one) is reported with both versions.
    func testTheInvariantFindsAVersionGoingBack() {
        let outcome = ServiceHarness.run("features", [HTTPRequest("PUT", "features/values", body: ["entity": "user-1", "value": "0.5"]),
                                                      HTTPRequest("PUT", "features/values", body: ["entity": "user-1", "value": "0.6"])])
        XCTAssertEqual(FeaturesService.invariants(outcome.view), [])
        let redis = outcome.simulation.node(named: "redis")!
        let clean = try! redis.disk.readAll("appendonly.aof")
        let stale = OnlineStore.Entry(version: 1, eventTime: 0, values: [("value", "0.1")]).encoded
        try! redis.disk.append("appendonly.aof", RecordLog.encode(RedisAppendOnlyFile().encode(RedisCommand.set("online:default:t1:user-1", stale, onlyIfAbsent: false, expireMs: nil))!))
        // The answer kept for the log before (same event) is not given for the log after.
        let back = ["features: online:default:t1:user-1 went back from version 2 to 1 (an older value overwrote a newer one)"]
        XCTAssertEqual(FeaturesService.invariants(outcome.view), back)
        XCTAssertEqual(FeaturesService.invariants(outcome.view), back, "asked again of the same log")
        try! redis.disk.writeAll("appendonly.aof", clean)
        XCTAssertEqual(FeaturesService.invariants(outcome.view), [], "the log as it was: nothing goes back")
        // A log of the same length as the one that went back, the stale version 1 written as 3:
        // judged anew (the length alone would give the answer kept for the other).
        func record(version: Int64) -> [UInt8] {
            let entry = OnlineStore.Entry(version: version, eventTime: 0, values: [("value", "0.1")]).encoded
            return RecordLog.encode(RedisAppendOnlyFile().encode(RedisCommand.set("online:default:t1:user-1", entry, onlyIfAbsent: false, expireMs: nil))!)
        }
        try! redis.disk.writeAll("appendonly.aof", clean + record(version: 1))
        XCTAssertEqual(FeaturesService.invariants(outcome.view), back)
        XCTAssertEqual(record(version: 3).count, record(version: 1).count)
        try! redis.disk.writeAll("appendonly.aof", clean + record(version: 3))
        XCTAssertEqual(FeaturesService.invariants(outcome.view), [], "version 3 after 2 goes forward")
    }
}
