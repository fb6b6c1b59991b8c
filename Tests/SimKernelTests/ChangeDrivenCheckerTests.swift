import XCTest
@testable import SimKernel

/// Safety checkers that declare `runsOnChangesOnly` run only after events that noted a change in
/// `Simulation.checkerChanges`, and find what they find at the same event as when run after
/// every event.
final class ChangeDrivenCheckerTests: XCTestCase {
    /// A checker that counts its calls and fires when `fire` says so.
    final class Probe: SafetyChecker {
        let name: String
        let runsOnChangesOnly: Bool
        var calls = 0
        var calledAt: [Int64] = []
        let fire: (Simulation) -> String?
        init(_ name: String, onChangesOnly: Bool, fire: @escaping (Simulation) -> String? = { _ in nil }) {
            self.name = name
            runsOnChangesOnly = onChangesOnly
            self.fire = fire
        }
        func check(_ simulation: Simulation) -> String? {
            calls += 1
            calledAt.append(simulation.now)
            return fire(simulation)
        }
    }

    func testAChangeDrivenCheckerRunsOnlyAfterEventsThatNotedAChange() {
        let simulation = Simulation(seed: 1)
        for time in 1 ... 10 as ClosedRange<Int64> {
            simulation.schedule(at: time) { if time == 3 || time == 7 { simulation.checkerChanges.note() } }
        }
        let driven = Probe("driven", onChangesOnly: true), always = Probe("always", onChangesOnly: false)
        simulation.add(checker: driven)
        simulation.add(checker: always)
        XCTAssertEqual(simulation.run(), .passed)
        XCTAssertEqual(always.calledAt, Array(1 ... 10), "an every-event checker runs after each of the 10 events")
        XCTAssertEqual(driven.calledAt, [1, 3, 7], "the first pass, then only after the two events that noted a change")
    }

    func testAChangeDrivenCheckerFindsAViolationAtTheEventThatMadeIt() {
        let simulation = Simulation(seed: 1)
        var value = 0
        for time in 1 ... 10 as ClosedRange<Int64> {
            simulation.schedule(at: time) {
                if time % 4 == 0 { value += 1; simulation.checkerChanges.note() }
            }
        }
        simulation.add(checker: Probe("value-below-2", onChangesOnly: true) { _ in value < 2 ? nil : "value reached \(value)" })
        XCTAssertEqual(simulation.run(), .violation(checker: "value-below-2", message: "value reached 2", at: 8))
    }

    func testCheckersAfterOneThatFiredStillSeeTheChangeWhenTheRunGoesOn() {
        var options = SimulationOptions()
        options.keepGoing = true
        let simulation = Simulation(seed: 1, options: options)
        var value = 0
        simulation.schedule(at: 2) { value = 1; simulation.checkerChanges.note() }
        simulation.schedule(at: 3) {}
        let first = Probe("first", onChangesOnly: true) { _ in value == 1 ? "first saw 1" : nil }
        let second = Probe("second", onChangesOnly: true) { _ in value == 1 ? "second saw 1" : nil }
        simulation.add(checker: first)
        simulation.add(checker: second)
        simulation.run()
        // The pass after event 2 stops at the first finding; the second checker runs after the
        // next event although nothing changed in it, as it would if both ran after every event.
        XCTAssertEqual(simulation.findings, [
            .violation(checker: "first", message: "first saw 1", at: 2),
            .violation(checker: "second", message: "second saw 1", at: 3),
        ])
    }

    func testANodesCrashRestartAndMemoryAreNotedAsChanges() throws {
        let simulation = Simulation(seed: 1)
        let node = simulation.addNode("n1", memoryBudget: 1_000)
        var before = simulation.checkerChanges.count
        try node.allocate(bytes: 10, by: "test")
        XCTAssertGreaterThan(simulation.checkerChanges.count, before, "an allocation is a change")
        before = simulation.checkerChanges.count
        node.free(bytes: 10)
        XCTAssertGreaterThan(simulation.checkerChanges.count, before, "a release is a change")
        before = simulation.checkerChanges.count
        node.crash()
        XCTAssertGreaterThan(simulation.checkerChanges.count, before, "a crash is a change")
        before = simulation.checkerChanges.count
        node.restart()
        XCTAssertGreaterThan(simulation.checkerChanges.count, before, "a restart is a change")
    }
}
