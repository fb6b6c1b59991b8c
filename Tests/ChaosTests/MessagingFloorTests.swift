import Foundation
import XCTest
@testable import Chaos
import SimKernel
import SimServices

/// What `simrun bench` reports about messages: a run's count of them, the bare round trip that
/// measures the messaging layer's floor, and the scenario benchmark's figures built from both.
final class MessagingFloorTests: XCTestCase {
    /// A run's `messages` is the number of sends of its trace: every `net.send`, dropped, blocked
    /// or delivered alike (scenario 05 with its faults, so some are lost).
    func testARunCountsEveryMessageItsTraceShowsSent() {
        let configuration = RunConfiguration(scenario: Chaos05.scenario, seed: 2, defects: DefectSet([]),
                                             faults: Chaos05.scenario.faultOptions(seed: 2, profile: nil))
        let (result, records, _) = ScenarioRunner.runRecorded(configuration)
        let sends = records.filter { $0.kind == "net.send" }.count
        XCTAssertGreaterThan(sends, 1_000, "scenario 05 moves thousands of messages")
        XCTAssertEqual(result.messages, sends)
        XCTAssertEqual(ScenarioRunner.runWithoutDetails(configuration).messages, sends, "the count does not depend on trace details")
    }

    /// The bare benchmark answers every request with its own value (a reply that came back for
    /// another request would not count) and is a pure function of its count, as every run is.
    func testTheBareRoundTripBenchmarkAnswersEveryRequestAndReplaysExactly() {
        let first = InfrastructureBenchmark.rpcRoundTrips(count: 300)
        let second = InfrastructureBenchmark.rpcRoundTrips(count: 300)
        XCTAssertEqual(first.operations, 300)
        XCTAssertEqual(first.checksum, second.checksum, "same count, same trace")
        XCTAssertNotEqual(InfrastructureBenchmark.rpcRoundTrips(count: 301).checksum, first.checksum, "the checksum covers the work")
    }

    /// `simrun bench --scenario ... --json` carries the message figures, and they are the
    /// arithmetic they claim: messages per virtual second, wall microseconds per message, and the
    /// x real time the messages alone would allow at the bare cost. It holds the figures to one
    /// another, not to a clock: how fast the bare round trip is, no test can say (it is measured).
    func testTheScenarioBenchReportsMessagesAndTheBareMessagingFloor() throws {
        let result = try runSimrun(["bench", "--scenario", "05_distributed_training_hang", "--scenario-seeds", "1", "--json"], in: Chaos05.packageRoot)
        XCTAssertEqual(result.status, 0, result.error)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
        let messages = try XCTUnwrap(object["messages"] as? Double ?? (object["messages"] as? Int).map(Double.init))
        let virtual = try XCTUnwrap(object["virtual_seconds"] as? Double), wall = try XCTUnwrap(object["wall_seconds"] as? Double)
        let bare = try XCTUnwrap(object["bare_us_per_message"] as? Double), floor = try XCTUnwrap(object["bare_messaging_speedup"] as? Double)
        XCTAssertGreaterThan(messages, 1_000)
        XCTAssertGreaterThan(bare, 0)
        XCTAssertEqual(try XCTUnwrap(object["messages_per_virtual_s"] as? Double), messages / virtual, accuracy: 1e-9 * messages)
        XCTAssertEqual(try XCTUnwrap(object["wall_us_per_message"] as? Double), wall * 1e6 / messages, accuracy: 1e-6)
        XCTAssertEqual(floor, virtual / (messages * bare / 1e6), accuracy: floor * 1e-9)
        XCTAssertEqual(try XCTUnwrap(object["seeds_per_wall_hour"] as? Double), 1 / wall * 3600, accuracy: 1e-6 / wall)
        XCTAssertEqual(object["failing_seeds"] as? Int, 0, "a healthy platform, defects off")
        XCTAssertTrue(object["wall_seconds_per_failing_seed"] is NSNull, "no failing seed: no figure")
    }

    /// With a defect on, the bench counts the seeds that found a failure, and divides the wall
    /// time of all seeds (passing ones included) by that count; seeds a wall hour count every
    /// seed. L15 in the cold start is found at seed 2 and not at seed 1 (its seed file is seed
    /// 2's), so the two divisions differ.
    func testTheScenarioBenchCountsFailingSeedsAndDividesTheWallTimeByThem() throws {
        let result = try runSimrun(["bench", "--scenario", "00_cold_start", "--scenario-seeds", "2", "--defects", "L15", "--json"], in: Chaos05.packageRoot)
        XCTAssertEqual(result.status, 0, result.error)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
        let wall = try XCTUnwrap(object["wall_seconds"] as? Double)
        XCTAssertEqual(object["failing_seeds"] as? Int, 1, "seed 2 finds L15, seed 1 does not")
        XCTAssertEqual(try XCTUnwrap(object["wall_seconds_per_failing_seed"] as? Double), wall / 1, accuracy: 1e-9)
        XCTAssertEqual(try XCTUnwrap(object["seeds_per_wall_hour"] as? Double), 2 / wall * 3600, accuracy: 1e-6 / wall)
    }
}
