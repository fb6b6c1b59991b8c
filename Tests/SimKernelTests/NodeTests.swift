import XCTest
@testable import SimKernel

final class NodeTests: XCTestCase {
    func testCrashStopsProcessesAndRestartRebuildsThemFromTheDurableDisk() {
        let simulation = Simulation(seed: 1)
        let node = simulation.addNode("db")
        var boots: [String] = []
        node.addProcess("store") { context in
            // On boot: read the durable counter, then count up, syncing every other step.
            let previous = (try? context.disk.readAll("counter")).flatMap { $0.isEmpty ? nil : Int($0[0]) } ?? 0
            boots.append("boot epoch \(context.epoch) counter \(previous)")
            var value = previous
            while true {
                await context.sleep(nanoseconds: 10)
                value += 1
                try? context.disk.writeAll("counter", [UInt8(value)])
                if value % 2 == 0 { try? context.disk.fsync("counter"); context.disk.syncDirectory() }
            }
        }
        simulation.schedule(at: 35) { node.crash() }       // value 3 written, only 2 synced
        simulation.schedule(at: 100) { node.restart() }
        simulation.schedule(at: 125) { simulation.fail(.violation(checker: "stop", message: "end of test", at: simulation.now)) }
        _ = simulation.run()
        XCTAssertEqual(boots, ["boot epoch 0 counter 0", "boot epoch 1 counter 2"])
        XCTAssertEqual(node.crashCount, 1)
        XCTAssertEqual(node.state, .up)
    }

    func testProcessesOfACrashedNodeNeverRunAgain() {
        let simulation = Simulation(seed: 1)
        let node = simulation.addNode("n")
        var ticks: [Int64] = []
        node.addProcess("ticker") { context in
            while true {
                await context.sleep(nanoseconds: 10)
                ticks.append(simulation.now)
            }
        }
        simulation.schedule(at: 25) { node.crash() }
        simulation.schedule(at: 100) {}
        simulation.run()
        XCTAssertEqual(ticks, [10, 20])
    }

    func testPauseDefersWorkUntilResume() {
        let simulation = Simulation(seed: 1)
        let node = simulation.addNode("n")
        var ticks: [Int64] = []
        node.addProcess("ticker") { context in
            for _ in 0 ..< 3 {
                await context.sleep(nanoseconds: 10)
                ticks.append(simulation.now)
            }
        }
        simulation.schedule(at: 5) { node.pause() }
        simulation.schedule(at: 50) { node.resume() }
        simulation.run()
        XCTAssertEqual(ticks, [50, 60, 70], "the tick due at 10 ran at resume; later ones follow")
    }

    /// Memory given back makes room: load, unload, load again stays within the budget.
    func testFreedMemoryMakesRoomForTheNextAllocation() {
        let simulation = Simulation(seed: 1)
        let node = simulation.addNode("inference", memoryBudget: 1000)
        var loads = 0
        node.addProcess("swapper") { _ in
            for _ in 0 ..< 5 {
                guard (try? node.allocate(bytes: 600, by: "swapper")) != nil else { return }
                loads += 1
                node.free(bytes: 600)  // the old model is unloaded before the next one loads
            }
        }
        simulation.run()
        XCTAssertEqual(loads, 5)
        XCTAssertEqual(node.state, .up)
        XCTAssertEqual(node.memoryUsed, 0)
    }

    func testExceedingTheMemoryBudgetIsAnOutOfMemoryKill() {
        let simulation = Simulation(seed: 1)
        let node = simulation.addNode("inference", memoryBudget: 1000)
        var loaded = 0
        var failure: NodeError?
        node.addProcess("loader") { context in
            for _ in 0 ..< 10 {
                do {
                    try node.allocate(bytes: 300, by: "loader")
                    loaded += 1
                } catch {
                    failure = error as? NodeError
                    await context.haltIfDead()
                }
                await context.sleep(nanoseconds: 1)
            }
        }
        simulation.run()
        XCTAssertEqual(loaded, 3)
        XCTAssertEqual(failure, .outOfMemory(node: "inference", used: 1200, budget: 1000))
        XCTAssertEqual(node.state, .crashed)
        XCTAssertEqual(node.lastCrashReason, .outOfMemory)
        XCTAssertEqual(node.memoryUsed, 0)
    }

    func testNodeClocksSkewDriftAndJump() {
        let simulation = Simulation(seed: 1)
        let node = simulation.addNode("n")
        node.clock = NodeClock(offset: 5 * Nanos.second, driftPPM: 100)
        var readings: [Int64] = []
        simulation.schedule(at: 10 * Nanos.second) { readings.append(node.localTime) }
        simulation.schedule(at: 20 * Nanos.second) {
            node.jumpClock(by: -3 * Nanos.second)
            readings.append(node.localTime)
        }
        simulation.run()
        // 10 s true + 5 s offset + 100 ppm of 10 s (1 ms); then 20 s + 5 s - 3 s + 2 ms.
        XCTAssertEqual(readings, [15 * Nanos.second + Nanos.millisecond, 22 * Nanos.second + 2 * Nanos.millisecond])
    }

    /// A slow clock (negative drift) never reads less than before, across millisecond boundaries
    /// too, and drift is charged in proportion: -100 ppm of 10 s is 1 ms.
    func testASlowClockNeverGoesBack() {
        let clock = NodeClock(offset: 0, driftPPM: -100)
        var previous = Int64.min
        for t in Array(999_990 ... 1_000_010) + Array(1_999_990 ... 2_000_010) {
            let reading = clock.reading(at: Int64(t))
            XCTAssertGreaterThanOrEqual(reading, previous, "at \(t) ns")
            previous = reading
        }
        XCTAssertEqual(clock.reading(at: 10 * Nanos.second), 10 * Nanos.second - Nanos.millisecond)
        XCTAssertEqual(NodeClock(offset: 0, driftPPM: 250).reading(at: 4 * Nanos.second), 4 * Nanos.second + Nanos.millisecond)
    }

    func testNodeNamesAreUnique() {
        let simulation = Simulation(seed: 1)
        simulation.addNode("a")
        simulation.addNode("b")
        XCTAssertEqual(simulation.nodes.map(\.name), ["a", "b"])
        XCTAssertEqual(simulation.node(named: "b")?.id, NodeID(1))
        XCTAssertNil(simulation.node(named: "c"))
    }
}
