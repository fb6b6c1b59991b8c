import XCTest
@testable import SimKernel

final class LockManagerTests: XCTestCase {
    func testSharedHoldersCoexistAndExclusiveWaitsInFIFOOrder() {
        let simulation = Simulation(seed: 1)
        let locks = simulation.locks
        var log: [String] = []
        func client(_ name: String, _ mode: LockManager.Mode, at start: Int64, hold: Int64) {
            simulation.spawn {
                try? await simulation.sleep(until: start)
                guard case .success(let grant) = await locks.acquire("r", mode: mode, owner: name) else { return }
                log.append("\(name)+\(simulation.now)")
                try? await simulation.sleep(nanoseconds: hold)
                locks.release(grant)
                log.append("\(name)-\(simulation.now)")
            }
        }
        client("s1", .shared, at: 0, hold: 10)
        client("s2", .shared, at: 1, hold: 10)
        client("x", .exclusive, at: 2, hold: 5)
        client("s3", .shared, at: 3, hold: 1)  // queued behind x: FIFO, no overtaking
        XCTAssertEqual(simulation.run(), .passed)
        XCTAssertEqual(log, ["s1+0", "s2+1", "s1-10", "s2-11", "x+11", "x-16", "s3+16", "s3-17"])
    }

    /// A database's locks mirrored into the wait-for graph: A holds a platform lock and waits in
    /// the database for B's read lock; B waits for A's platform lock. One cycle, both kinds named.
    func testACycleThroughAnExternalLockAndAPlatformLockIsNamed() {
        let simulation = Simulation(seed: 1)
        let locks = simulation.locks
        _ = locks.tryAcquire("worker/1", mode: .exclusive, owner: "trainer")
        locks.noteExternalHold("sql:db", owner: "sweep", mode: .shared, key: "s1")
        simulation.spawn { _ = await locks.acquire("worker/1", mode: .exclusive, owner: "sweep") }
        simulation.schedule(at: 10) { locks.noteExternalWait("sql:db", owner: "trainer", mode: .exclusive, key: "s2") }
        guard case .deadlock(let cycle) = simulation.run() else { return XCTFail("no deadlock") }
        XCTAssertEqual(Set(cycle.members.map(\.waitsFor)), ["sql:db", "worker/1"])
        XCTAssertEqual(cycle.members.first { $0.owner == "sweep" }?.holds, ["sql:db"])
        XCTAssertEqual(cycle.members.first { $0.owner == "trainer" }?.holds, ["worker/1"])
    }

    /// External holds alone never make a cycle: a reader that waits for nothing, or a wait that
    /// ended, is no edge; shared holds do not block each other.
    func testExternalHoldsWithoutACycleAreNoDeadlock() {
        let simulation = Simulation(seed: 1)
        let locks = simulation.locks
        _ = locks.tryAcquire("worker/1", mode: .exclusive, owner: "trainer")
        locks.noteExternalHold("sql:db", owner: "reader", mode: .shared, key: "r1")
        XCTAssertNil(locks.noteExternalWait("sql:db", owner: "trainer", mode: .exclusive, key: "t1"), "the reader waits for nothing")
        XCTAssertNil(locks.noteExternalWait("sql:db", owner: "other-reader", mode: .shared, key: "o1"), "shared does not wait for shared")
        locks.noteExternalWaitEnded(key: "t1")
        locks.noteExternalRelease("sql:db", key: "r1")
        simulation.spawn { _ = await locks.acquire("worker/1", mode: .exclusive, owner: "reader", timeout: 100) }
        XCTAssertEqual(simulation.run(), .passed)
        XCTAssertTrue(locks.deadlocksDetected.isEmpty)
    }

    /// Two handles acting for one owner are two entries: ending one leaves the other in place.
    func testTwoSessionsOfOneOwnerDoNotEraseEachOther() {
        let simulation = Simulation(seed: 1)
        let locks = simulation.locks
        _ = locks.tryAcquire("worker/1", mode: .exclusive, owner: "trainer")
        locks.noteExternalHold("sql:db", owner: "sweep", mode: .shared, key: "a")
        locks.noteExternalHold("sql:db", owner: "sweep", mode: .shared, key: "b")
        locks.noteExternalRelease("sql:db", key: "a")  // one session of the sweep ended
        simulation.spawn { _ = await locks.acquire("worker/1", mode: .exclusive, owner: "sweep") }
        simulation.schedule(at: 10) { locks.noteExternalWait("sql:db", owner: "trainer", mode: .exclusive, key: "t") }
        guard case .deadlock(let cycle) = simulation.run() else { return XCTFail("the other session's hold was lost") }
        XCTAssertEqual(cycle.members.first { $0.owner == "trainer" }?.waitsFor, "sql:db")
    }

    func testAcquisitionTimesOut() {
        let simulation = Simulation(seed: 1)
        var result: String?
        _ = simulation.locks.tryAcquire("r", mode: .exclusive, owner: "holder")
        simulation.spawn {
            let outcome = await simulation.locks.acquire("r", mode: .exclusive, owner: "waiter", timeout: 50)
            if case .failure(let error) = outcome { result = "\(error) at \(simulation.now)" }
        }
        simulation.run()
        XCTAssertEqual(result, "lock r: timed out after 0.000s at 50")
        XCTAssertEqual(simulation.locks.waiters(of: "r"), [])
    }

    func testFencingTokensStrictlyIncreaseAcrossLeaseExpiry() {
        let simulation = Simulation(seed: 1)
        let locks = simulation.locks
        var tokens: [UInt64] = []
        var gate = FencingGate()
        var writes: [String] = []
        // A holder takes a 100 ns lease, then "pauses" for 500 ns and writes with its old token.
        simulation.spawn {
            guard case .success(let grant) = await locks.acquire("job", mode: .exclusive, owner: "paused", lease: 100) else { return }
            tokens.append(grant.token)
            try? await simulation.sleep(nanoseconds: 500)
            writes.append(gate.admit(grant.token) ? "paused accepted" : "paused rejected")
            if case .failure(let error) = locks.release(grant) { writes.append("\(error)") }
        }
        simulation.spawn {
            try? await simulation.sleep(nanoseconds: 10)
            for round in 0 ..< 3 {
                guard case .success(let grant) = await locks.acquire("job", mode: .exclusive, owner: "fresh-\(round)", lease: 100) else { return }
                tokens.append(grant.token)
                writes.append(gate.admit(grant.token) ? "fresh-\(round) accepted" : "fresh-\(round) rejected")
                locks.release(grant)
            }
        }
        simulation.run()
        XCTAssertEqual(tokens, tokens.sorted())
        XCTAssertEqual(Set(tokens).count, tokens.count, "tokens are unique")
        XCTAssertEqual(writes, ["fresh-0 accepted", "fresh-1 accepted", "fresh-2 accepted", "paused rejected",
                                "lock job: token 1 is no longer current"])
    }

    private func deadlockRun(owners: Int, policy: LockManager.DeadlockPolicy = .failRun) -> (Outcome, [String]) {
        let simulation = Simulation(seed: 1)
        simulation.locks.deadlockPolicy = policy
        var errors: [String] = []
        // Owner i takes lock i, then lock (i+1) mod n: a cycle of length n.
        for i in 0 ..< owners {
            simulation.spawn {
                let owner = "w\(i)"
                _ = await simulation.locks.acquire("L\(i)", mode: .exclusive, owner: owner)
                try? await simulation.sleep(nanoseconds: 10)
                let second = await simulation.locks.acquire("L\((i + 1) % owners)", mode: .exclusive, owner: owner)
                if case .failure(let error) = second { errors.append("\(owner): \(error)") }
                simulation.locks.releaseAll(owner: owner)
            }
        }
        return (simulation.run(), errors)
    }

    func testDeadlockCycleOfTwoIsReportedWithHoldersAndWaits() {
        let (outcome, _) = deadlockRun(owners: 2)
        guard case .deadlock(let cycle) = outcome else { return XCTFail("expected deadlock, got \(outcome)") }
        XCTAssertEqual(cycle.members.map(\.owner), ["w1", "w0"])
        XCTAssertEqual(cycle.members.map(\.holds), [["L1"], ["L0"]])
        XCTAssertEqual(cycle.members.map(\.waitsFor), ["L0", "L1"])
        XCTAssertEqual(cycle.members.map(\.since), [10, 10])
        XCTAssertEqual(cycle.detectedAt, 10)
        XCTAssertTrue(outcome.message.contains("w1 holds [L1] and waits for L0 (exclusive) since 0.000s"), outcome.message)
    }

    func testDeadlockCycleOfThreeIsFound() {
        let (outcome, _) = deadlockRun(owners: 3)
        guard case .deadlock(let cycle) = outcome else { return XCTFail("expected deadlock, got \(outcome)") }
        XCTAssertEqual(cycle.members.count, 3)
        XCTAssertEqual(Set(cycle.members.map(\.owner)), ["w0", "w1", "w2"])
    }

    func testAbortRequesterPolicyBreaksTheCycleAndTheRunGoesOn() {
        let (outcome, errors) = deadlockRun(owners: 3, policy: .abortRequester)
        XCTAssertEqual(outcome, .passed)
        XCTAssertEqual(errors.count, 1)
        XCTAssertTrue(errors[0].contains("deadlock detected: wait-for cycle of 3"), errors[0])
    }

    /// A chain of 30 owners each waiting for the next, the last one running: long, but it
    /// resolves, so it is never reported.
    func testLongResolvingWaitChainIsNotADeadlock() {
        let simulation = Simulation(seed: 1)
        let n = 30
        var finished = 0
        for i in 0 ..< n {
            simulation.spawn {
                let owner = "c\(i)"
                _ = await simulation.locks.acquire("R\(i)", mode: .exclusive, owner: owner)
                try? await simulation.sleep(nanoseconds: 10)
                if i + 1 < n {
                    _ = await simulation.locks.acquire("R\(i + 1)", mode: .exclusive, owner: owner)
                } else {
                    try? await simulation.sleep(nanoseconds: 1000)  // the end of the chain works, then lets go
                }
                simulation.locks.releaseAll(owner: owner)
                finished += 1
            }
        }
        XCTAssertEqual(simulation.run(), .passed)
        XCTAssertEqual(finished, n)
        XCTAssertTrue(simulation.locks.deadlocksDetected.isEmpty)
    }

    /// Under strict FIFO a waiter also waits for conflicting waiters queued ahead of it; a cycle
    /// through such a queue edge is a real deadlock.
    func testCycleThroughAQueuedWaiterIsFound() {
        let simulation = Simulation(seed: 1)
        let locks = simulation.locks
        simulation.spawn {  // A holds R shared, later wants S
            _ = await locks.acquire("R", mode: .shared, owner: "A")
            try? await simulation.sleep(nanoseconds: 30)
            _ = await locks.acquire("S", mode: .exclusive, owner: "A")
        }
        simulation.spawn {  // B queues for R exclusive behind A
            try? await simulation.sleep(nanoseconds: 10)
            _ = await locks.acquire("R", mode: .exclusive, owner: "B")
        }
        simulation.spawn {  // C holds S, wants R shared: compatible with A, but queued behind B
            _ = await locks.acquire("S", mode: .exclusive, owner: "C")
            try? await simulation.sleep(nanoseconds: 20)
            _ = await locks.acquire("R", mode: .shared, owner: "C")
        }
        let outcome = simulation.run()
        guard case .deadlock(let cycle) = outcome else { return XCTFail("expected deadlock, got \(outcome)") }
        XCTAssertEqual(Set(cycle.members.map(\.owner)), ["A", "B", "C"])
    }

    func testGrantToADeadProcessIsSkipped() {
        let simulation = Simulation(seed: 1)
        let node = simulation.addNode("n")
        var got: [String] = []
        _ = simulation.locks.tryAcquire("r", mode: .exclusive, owner: "holder")
        node.addProcess("doomed") { context in
            _ = await context.acquire("r", owner: "doomed")
            got.append("doomed")
        }
        simulation.spawn {
            try? await simulation.sleep(nanoseconds: 20)
            let result = await simulation.locks.acquire("r", mode: .exclusive, owner: "survivor")
            if case .success = result { got.append("survivor at \(simulation.now)") }
        }
        simulation.schedule(at: 10) { node.crash() }
        simulation.schedule(at: 30) { simulation.locks.release("r", owner: "holder") }
        simulation.run()
        XCTAssertEqual(got, ["survivor at 30"])
    }
}
