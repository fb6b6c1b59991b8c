import XCTest
import Foundation
@testable import SimKernel

/// One probe per concurrency construct: each must run on the simulation's thread, in kernel
/// order, in virtual time. If a toolchain change breaks the executor capture, these fail first.
final class ExecutorCaptureTests: XCTestCase {
    actor Counter {
        var value = 0
        func increment() -> Int {
            value += 1
            return value
        }
    }

    /// Runs `body` as a root task and returns the threads its probes ran on.
    private func runProbe(_ body: @escaping (Simulation, @escaping (String) -> Void) async -> Void) -> (Outcome, [String], Simulation) {
        var options = SimulationOptions()
        options.maxTime = 10 * Nanos.hour
        let simulation = Simulation(seed: 1, options: options)
        var log: [String] = []
        let owner = pthread_self()
        let note: (String) -> Void = { label in
            XCTAssertEqual(pthread_self(), owner, "\(label) ran off the simulation thread")
            log.append(label)
        }
        simulation.spawn { await body(simulation, note) }
        let outcome = simulation.run()
        return (outcome, log, simulation)
    }

    func testRouterIsInstalledAsTheDefaultExecutor() {
        _ = Simulation(seed: 0)
        XCTAssertTrue(ExecutorCapture.isRouterInstalled)
    }

    func testActorHopsRunOnTheSimulationThread() {
        let (outcome, log, _) = runProbe { _, note in
            let counter = Counter()
            for _ in 0 ..< 3 { _ = await counter.increment() }
            note("after-actor-\(await counter.value)")
        }
        XCTAssertEqual(outcome, .passed)
        XCTAssertEqual(log, ["after-actor-3"])
    }

    func testUnstructuredAndDetachedTasksAreCaptured() {
        let (outcome, log, _) = runProbe { _, note in
            let child = Task { note("task"); return 1 }
            let detached = Task.detached { note("detached"); return 2 }
            let sum = await child.value + detached.value
            note("sum-\(sum)")
        }
        XCTAssertEqual(outcome, .passed)
        XCTAssertEqual(log.sorted(), ["detached", "sum-3", "task"])
    }

    func testAsyncLetAndTaskGroupsAreCaptured() {
        let (outcome, log, _) = runProbe { simulation, note in
            async let a: Int = { note("async-let"); return 10 }()
            let total = await withTaskGroup(of: Int.self) { group in
                for i in 0 ..< 4 { group.addTask { note("group"); return i } }
                return await group.reduce(0, +)
            }
            note("total-\(await a + total)")
            XCTAssertEqual(simulation.now, 0, "no virtual time passes without a sleep")
        }
        XCTAssertEqual(outcome, .passed)
        XCTAssertEqual(log.filter { $0 == "group" }.count, 4)
        XCTAssertEqual(log.last, "total-16")
    }

    func testTaskYieldIsCaptured() {
        let (outcome, log, _) = runProbe { _, note in
            let counter = Counter()
            _ = await counter.increment()
            await Task.yield()
            note("after-yield")
            let inner = Task { await Task.yield(); note("yield-in-task") }
            await inner.value
        }
        XCTAssertEqual(outcome, .passed)
        XCTAssertEqual(log, ["after-yield", "yield-in-task"])
    }

    func testContinuationsResumedByTheKernelAreCaptured() {
        let (outcome, log, simulation) = runProbe { simulation, note in
            let value: Int = await withCheckedContinuation { continuation in
                simulation.schedule(after: 5 * Nanos.second) { continuation.resume(returning: 7) }
            }
            note("resumed-\(value)-at-\(simulation.now)")
        }
        XCTAssertEqual(outcome, .passed)
        XCTAssertEqual(log, ["resumed-7-at-5000000000"])
        XCTAssertEqual(simulation.now, 5 * Nanos.second)
    }

    func testSimulationClockSleepsInVirtualTime() {
        let wallStart = Date()
        let (outcome, log, simulation) = runProbe { simulation, note in
            let clock = simulation.clock
            try? await clock.sleep(for: .seconds(3600))
            note("slept-hour")
            try? await Task.sleep(until: clock.now.advanced(by: .seconds(60)), clock: clock)
            note("slept-minute")
        }
        XCTAssertEqual(outcome, .passed)
        XCTAssertEqual(log, ["slept-hour", "slept-minute"])
        XCTAssertEqual(simulation.now, 3660 * Nanos.second)
        // An hour and a minute of virtual time; the run itself is instantaneous. 60 s is a bound
        // no machine comes near, so this cannot flake, yet it fails if sleeps were real.
        XCTAssertLessThan(Date().timeIntervalSince(wallStart), 60)
    }

    func testSleepIsCancellable() {
        let (outcome, log, simulation) = runProbe { simulation, note in
            let sleeper = Task {
                do { try await simulation.sleep(for: .seconds(100)); note("woke") } catch { note("cancelled-at-\(simulation.now)") }
            }
            try? await simulation.sleep(for: .seconds(1))
            sleeper.cancel()
            await sleeper.value
        }
        XCTAssertEqual(outcome, .passed)
        XCTAssertEqual(log, ["cancelled-at-1000000000"])
        XCTAssertEqual(simulation.now, Nanos.second, "the cancelled timer does not keep the run going")
    }

    func testTasksInterleaveInKernelOrder() {
        // Two tasks sleeping different amounts interleave by virtual time, not by creation.
        let (outcome, log, _) = runProbe { simulation, note in
            let a = Task { for i in 0 ..< 3 { try? await simulation.sleep(nanoseconds: 30); note("a\(i)@\(simulation.now)") } }
            let b = Task { for i in 0 ..< 3 { try? await simulation.sleep(nanoseconds: 20); note("b\(i)@\(simulation.now)") } }
            await a.value
            await b.value
        }
        XCTAssertEqual(outcome, .passed)
        XCTAssertEqual(log, ["b0@20", "a0@30", "b1@40", "a1@60", "b2@60", "a2@90"])
    }

    func testRealClockSleepInsideASimulationIsASimulatorFault() {
        let (outcome, _, _) = runProbe { _, _ in
            try? await Task.sleep(for: .milliseconds(1))
        }
        XCTAssertEqual(outcome.kind, "simulator_fault")
        XCTAssertTrue(outcome.message.contains("Task.sleep"), outcome.message)
    }

    func testCallsFromAnotherThreadFailTheRun() {
        let simulation = Simulation(seed: 1)
        let entered = DispatchSemaphore(value: 0)
        let foreignDone = DispatchSemaphore(value: 0)
        nonisolated(unsafe) let shared = simulation
        simulation.schedule(at: 10) {
            let thread = Thread {
                entered.wait()
                shared.schedule(after: 1) {}  // foreign work
                foreignDone.signal()
            }
            thread.start()
            entered.signal()
            foreignDone.wait()  // synchronisation with the other thread, not a timing assumption
        }
        simulation.schedule(at: 20) {}
        let outcome = simulation.run()
        XCTAssertEqual(outcome.kind, "simulator_fault")
        XCTAssertTrue(outcome.message.contains("foreign work"), outcome.message)
        XCTAssertEqual(outcome.exitCode, 3)
    }

    func testWorkOutsideSimulationsStillRunsOnTheOriginalExecutor() {
        _ = Simulation(seed: 0)  // installs the router
        let done = expectation(description: "global task ran")
        Task.detached {
            let counter = Counter()
            _ = await counter.increment()
            done.fulfill()
        }
        wait(for: [done], timeout: 30)
    }

    /// 20 tasks sleeping random amounts; returns the fingerprint (0 if the run did not pass).
    static func workload(_ seed: UInt64) -> UInt64 {
        let simulation = Simulation(seed: seed)
        for index in 0 ..< 20 {
            simulation.spawn {
                for _ in 0 ..< 50 {
                    let delay = simulation.withRandom(stream: "task-\(index)") { $0.uniform(1 ... 1000) }
                    try? await simulation.sleep(nanoseconds: delay)
                    simulation.record(TraceKind("tick"), actor: "task-\(index)", payload: UInt64(delay))
                }
            }
        }
        return simulation.run() == .passed ? simulation.trace.fingerprint : 0
    }

    func testSeveralSimulationsRunInParallelOnSeveralThreads() {
        let seeds: [UInt64] = [1, 2, 3, 4, 5, 6]
        let serial = seeds.map(ExecutorCaptureTests.workload)
        nonisolated(unsafe) var parallel = [UInt64](repeating: 0, count: seeds.count)
        let group = DispatchGroup()
        for (index, seed) in seeds.enumerated() {
            group.enter()
            Thread {
                parallel[index] = ExecutorCaptureTests.workload(seed)
                group.leave()
            }.start()
        }
        group.wait()
        XCTAssertFalse(serial.contains(0))
        XCTAssertEqual(parallel, serial)
        XCTAssertEqual(Set(serial).count, seeds.count, "different seeds give different fingerprints")
    }
}
