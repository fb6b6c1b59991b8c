import XCTest
@testable import SimKernel

/// The DES primitives (SimPy's Resource, Store and Container) and the M/M/1 model built on them.
final class ResourcesTests: XCTestCase {
    func testAResourceServesFirstComeFirstServedWithinItsCapacity() {
        let simulation = Simulation(seed: 1)
        let resource = SimResource(capacity: 2)
        var log: [String] = [], peak = 0
        for (index, arrival) in [0, 1, 2, 3, 4].enumerated() {
            simulation.spawn {
                await simulation.timeout(Int64(arrival) * Nanos.millisecond)
                await resource.request()
                peak = max(peak, resource.inUse)
                log.append("c\(index) at \(simulation.now / Nanos.millisecond)")
                await simulation.timeout(10 * Nanos.millisecond)
                resource.release()
            }
        }
        simulation.run()
        // Two slots: c0 and c1 at once; c2 when c0 leaves (10 ms), c3 when c1 leaves (11), c4 at 20.
        XCTAssertEqual(log, ["c0 at 0", "c1 at 1", "c2 at 10", "c3 at 11", "c4 at 20"])
        XCTAssertEqual(peak, 2)
        XCTAssertEqual(resource.inUse, 0)
        XCTAssertEqual(resource.queueLength, 0)
    }

    func testAStoreHandsItemsOverInOrderAndBlocksWhenFullOrEmpty() {
        let simulation = Simulation(seed: 1)
        let store = SimStore<Int>(capacity: 2)
        var got: [String] = [], put: [String] = []
        simulation.spawn {  // consumer, early: waits on an empty store
            for _ in 0 ..< 4 {
                let item = await store.get()
                got.append("\(item)@\(simulation.now / Nanos.millisecond)")
                await simulation.timeout(5 * Nanos.millisecond)
            }
        }
        simulation.spawn {  // producer at 1 ms: four items at once into a store of two
            await simulation.timeout(Nanos.millisecond)
            for item in 1 ... 4 {
                await store.put(item)
                put.append("\(item)@\(simulation.now / Nanos.millisecond)")
            }
        }
        simulation.run()
        XCTAssertEqual(got, ["1@1", "2@6", "3@11", "4@16"], "FIFO, the first straight to the waiting consumer")
        XCTAssertEqual(put, ["1@1", "2@1", "3@1", "4@6"], "the fourth waits for room")
        XCTAssertEqual(store.count, 0)
    }

    func testAContainerLetsItsWaitersThroughInOrder() {
        let simulation = Simulation(seed: 1)
        let tank = SimContainer(capacity: 10, level: 2)
        var log: [String] = []
        simulation.spawn {
            await tank.get(5)  // not enough: waits at the head
            log.append("get 5 @\(simulation.now / Nanos.millisecond)")
        }
        simulation.spawn {
            await simulation.timeout(Nanos.millisecond)
            await tank.get(1)  // would fit, but must not overtake the head
            log.append("get 1 @\(simulation.now / Nanos.millisecond)")
        }
        simulation.spawn {
            await simulation.timeout(3 * Nanos.millisecond)
            await tank.put(4)
            log.append("put 4 @\(simulation.now / Nanos.millisecond)")
        }
        simulation.run()
        XCTAssertEqual(log, ["put 4 @3", "get 5 @3", "get 1 @3"])
        XCTAssertEqual(tank.level, 0)
    }

    /// `process` runs the new process at once, up to its first suspension, then the caller goes
    /// on at the same instant (a `spawn` during a run would start it after the caller suspends).
    func testAProcessRunsAtOnceUpToItsFirstSuspension() {
        let simulation = Simulation(seed: 1)
        var log: [String] = []
        simulation.spawn {
            await simulation.timeout(Nanos.millisecond)
            simulation.process {
                log.append("child starts @\(simulation.now / Nanos.millisecond)")
                await simulation.timeout(2 * Nanos.millisecond)
                log.append("child ends @\(simulation.now / Nanos.millisecond)")
            }
            log.append("parent goes on @\(simulation.now / Nanos.millisecond)")
            simulation.spawn { log.append("spawned starts @\(simulation.now / Nanos.millisecond)") }
            log.append("parent after spawn")
        }
        simulation.run()
        XCTAssertEqual(log, ["child starts @1", "parent goes on @1", "parent after spawn", "spawned starts @1", "child ends @3"])
    }

    /// A timeout's event carries its continuation's address, which differs from run to run: the
    /// fingerprint must not see it. Two runs of one model, with allocations between them that move
    /// the heap, give one fingerprint; another delay gives another.
    func testTimeoutFingerprintsAreFreeOfAddresses() {
        func fingerprint(delay: Int64) -> UInt64 {
            let simulation = Simulation(seed: 7)
            let server = SimResource(capacity: 1)
            for index in 0 ..< 50 {
                simulation.spawn {
                    await simulation.timeout(Int64(index) * delay)
                    await server.request()
                    await simulation.timeout(delay)
                    server.release()
                }
            }
            simulation.run()
            return simulation.trace.fingerprint
        }
        let first = fingerprint(delay: 3)
        let ballast = (0 ..< 1000).map { [Int](repeating: $0, count: $0 % 37 + 1) }  // moves later allocations
        XCTAssertEqual(fingerprint(delay: 3), first, "same model, other addresses (\(ballast.count) arrays allocated between)")
        XCTAssertNotEqual(fingerprint(delay: 4), first, "the fingerprint covers the timeouts' times")
    }

    /// The benchmark's M/M/1 model (SimPy's style) against theory: 1 / (mu - lambda) = 10 s.
    /// 100,000 customers span about 290 of the queue's relaxation times (~380 s); from the batch
    /// means of `MM1QueueTests` (sd about 0.39 s at 400,000 customers), sd is about 0.8 s here, so
    /// 10 +- 3 is a bound of about four standard deviations. The run is seeded: it gives the same
    /// mean every time.
    func testTheMM1ModelsMeanTimeInSystemIsNearTheory() {
        let run = KernelBenchmark.mm1(customers: 100_000)
        XCTAssertEqual(run.served, 100_000)
        XCTAssertEqual(run.meanTimeInSystem, 10, accuracy: 3)
        XCTAssertEqual(KernelBenchmark.mm1(customers: 100_000).meanTimeInSystem, run.meanTimeInSystem, "a seeded model runs the same")
    }
}
