import XCTest
@testable import SimKernel
@testable import SimServices

/// The rendezvous on a real (simulated) Consul: three workers joining at the same instant.
final class ElasticRendezvousTests: XCTestCase {
    /// Three joins sent at once; what each join handed out and the final state.
    func joinTogether(compareAndSet: Bool, seed: UInt64 = 3) -> (joins: [String: RendezvousState], final: RendezvousState?) {
        var options = SimulationOptions()
        options.maxTime = 3 * Nanos.second
        let simulation = Simulation(seed: seed, options: options)
        let consulNode = simulation.addNode("consul")
        consulNode.addProcess("consul") { await ConsulServer.run(context: $0) }
        let rendezvous = ElasticRendezvous(consul: ConsulClient(server: Address(node: consulNode.id, service: "consul")), job: "job", compareAndSet: compareAndSet)
        var joins: [String: RendezvousState] = [:]
        var final: RendezvousState?
        for name in ["w0", "w1", "w2"] {
            simulation.addNode(name).addProcess("worker") { context in
                await context.sleep(nanoseconds: 100 * Nanos.millisecond)
                joins[name] = await rendezvous.join(name, context: context)
                await context.sleep(nanoseconds: Nanos.second)
                if name == "w0" { final = await rendezvous.read(context: context)?.state }
            }
        }
        _ = simulation.run()
        return (joins, final)
    }

    func testConcurrentJoinsWithCompareAndSetGetDistinctGenerationsAndRanks() {
        let (joins, final) = joinTogether(compareAndSet: true)
        XCTAssertEqual(Set(joins.values.map(\.generation)), [1, 2, 3])
        for (name, state) in joins { XCTAssertEqual(state.rank(of: name), state.generation - 1, name) }
        XCTAssertEqual(final?.generation, 3)
        XCTAssertEqual(final.map { Set($0.members) }, ["w0", "w1", "w2"])
    }

    func testBlindWritesLetTwoJoinsTakeOneRankAndLoseAMember() {
        // A5: all three read generation 0 before any write lands (they start at the same instant).
        let (joins, final) = joinTogether(compareAndSet: false)
        XCTAssertEqual(Set(joins.values.map(\.generation)), [1])
        XCTAssertEqual(Set(joins.map { $0.value.rank(of: $0.key) }), [0])
        XCTAssertEqual(final?.members.count, 1)
    }

    func testLeaveAndEvictRenumberTheRanksWithoutGaps() {
        var options = SimulationOptions()
        options.maxTime = 2 * Nanos.second
        let simulation = Simulation(seed: 1, options: options)
        let consulNode = simulation.addNode("consul")
        consulNode.addProcess("consul") { await ConsulServer.run(context: $0) }
        let rendezvous = ElasticRendezvous(consul: ConsulClient(server: Address(node: consulNode.id, service: "consul")), job: "job")
        var log: [String] = []
        simulation.addNode("driver").addProcess("driver") { context in
            for name in ["a", "b", "c", "d"] { _ = await rendezvous.join(name, context: context) }
            log.append(await rendezvous.leave("b", context: context).encoded)
            log.append(await rendezvous.evict("d", seenIn: 4, context: context).encoded)  // stale: generation 5 by now
            log.append(await rendezvous.evict("d", seenIn: 5, context: context).encoded)
            log.append(await rendezvous.join("a", context: context).encoded)  // a restarted member goes last
        }
        _ = simulation.run()
        XCTAssertEqual(log, ["5|a,c,d", "5|a,c,d", "6|a,c", "7|c,a"])
    }
}
