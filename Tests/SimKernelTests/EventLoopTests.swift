import XCTest
@testable import SimKernel

final class EventLoopTests: XCTestCase {
    func testHeapPopsInTimeThenInsertionOrder() {
        var queue = EventQueue(initialCapacity: 4)
        defer { queue.deallocate() }
        var random = SimRandom(seed: 42)
        var expected: [(Int64, UInt64)] = []
        for sequence in 0 ..< UInt64(5000) {
            let time = Int64(random.uniform(below: 50))  // many ties
            queue.push(PendingEvent(time: time, sequence: sequence, handler: 3, argument: sequence))
            expected.append((time, sequence))
            if sequence % 500 == 0 { XCTAssertTrue(queue.checkInvariants()) }
        }
        expected.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
        var popped: [(Int64, UInt64)] = []
        while !queue.isEmpty {
            let event = queue.pop()
            XCTAssertEqual(event.handler, 3)
            popped.append((event.time, event.sequence))
        }
        XCTAssertEqual(popped.map(\.0), expected.map(\.0))
        XCTAssertEqual(popped.map(\.1), expected.map(\.1))
    }

    func testTimersFireInOrderAndCancelledOnesDoNot() {
        let simulation = Simulation(seed: 1)
        var log: [String] = []
        simulation.schedule(at: 30) { log.append("c@\(simulation.now)") }
        simulation.schedule(at: 10) { log.append("a@\(simulation.now)") }
        let cancelled = simulation.schedule(at: 20) { log.append("never") }
        simulation.schedule(at: 10) { log.append("b@\(simulation.now)") }  // tie: insertion order
        XCTAssertTrue(simulation.cancel(cancelled))
        XCTAssertFalse(simulation.cancel(cancelled))
        XCTAssertEqual(simulation.run(), .passed)
        XCTAssertEqual(log, ["a@10", "b@10", "c@30"])
        XCTAssertEqual(simulation.now, 30)
    }

    func testEventsScheduledForNowRunAfterEarlierEventsOfTheSameInstant() {
        let simulation = Simulation(seed: 1)
        var log: [String] = []
        simulation.schedule(at: 5) {
            log.append("first")
            simulation.schedule(after: 0) { log.append("scheduled-now") }
        }
        simulation.schedule(at: 5) { log.append("second") }
        simulation.run()
        XCTAssertEqual(log, ["first", "second", "scheduled-now"])
    }

    func testRunStopsAtTheHorizon() {
        var options = SimulationOptions()
        options.maxTime = 100
        let simulation = Simulation(seed: 1, options: options)
        var fired: [Int64] = []
        for time in [50, 100, 150] as [Int64] { simulation.schedule(at: time) { fired.append(time) } }
        XCTAssertEqual(simulation.run(), .passed)
        XCTAssertEqual(fired, [50, 100])
        XCTAssertEqual(simulation.now, 100)
    }

    func testRunawayLoopEndsWithOutOfEvents() {
        var options = SimulationOptions()
        options.maxEvents = 1000
        let simulation = Simulation(seed: 1, options: options)
        func again() { simulation.schedule(after: 1) { again() } }
        again()
        let outcome = simulation.run()
        XCTAssertEqual(outcome.kind, "out_of_events")
        XCTAssertEqual(simulation.eventCount, 1000)
    }

    func testRawHandlersReceiveTheirArgument() {
        let simulation = Simulation(seed: 1)
        var seen: [UInt64] = []
        let handler = simulation.register { seen.append($0) }
        simulation.schedule(at: 2, handler: handler, argument: 7)
        simulation.schedule(at: 1, handler: handler, argument: 9)
        simulation.run()
        XCTAssertEqual(seen, [9, 7])
    }

    func testSafetyCheckerViolationEndsTheRunWithItsMessage() {
        let simulation = Simulation(seed: 1)
        var counter = 0
        for time in 1 ... 10 as ClosedRange<Int64> { simulation.schedule(at: time) { counter += 1 } }
        simulation.add(checker: ClosureChecker("counter-below-5") { _ in counter < 5 ? nil : "counter reached \(counter)" })
        let outcome = simulation.run()
        XCTAssertEqual(outcome, .violation(checker: "counter-below-5", message: "counter reached 5", at: 5))
        XCTAssertEqual(counter, 5, "the run stops after the violating event")
    }

    func testLivenessCheckFailsOnlyWhenTheConditionDoesNotHoldByTheDeadline() {
        let simulation = Simulation(seed: 1)
        var done = false
        simulation.schedule(at: 50) { done = true }
        simulation.expect("done-by-100", by: 100, { done }, message: { "not done" })
        simulation.expect("done-by-10", by: 10, { done }, message: { "not done at 10" })
        XCTAssertEqual(simulation.run(), .livenessTimeout(check: "done-by-10", message: "not done at 10", at: 10))
        let ok = Simulation(seed: 1)
        var okDone = false
        ok.schedule(at: 50) { okDone = true }
        ok.expect("done-by-100", by: 100, { okDone }, message: { "not done" })
        XCTAssertEqual(ok.run(), .passed)
    }

    func testOutcomeKindsAndExitCodes() {
        XCTAssertEqual(Outcome.passed.exitCode, 0)
        XCTAssertEqual(Outcome.violation(checker: "c", message: "m", at: 1).exitCode, 1)
        XCTAssertEqual(Outcome.outOfEvents(limit: 1, at: 0).exitCode, 1)
        XCTAssertEqual(Outcome.simulatorFault(message: "x").exitCode, 3)
        XCTAssertEqual(Outcome.livenessTimeout(check: "l", message: "m", at: 2).kind, "liveness_timeout")
    }

    func testFormatNanoseconds() {
        XCTAssertEqual(formatNanoseconds(1_250_000_000), "1.250s")
        XCTAssertEqual(formatNanoseconds(5_000_000), "0.005s")
        XCTAssertEqual(formatNanoseconds(-2_000_000_000), "-2.000s")
    }
}
