import XCTest
@testable import SimKernel

final class NetworkTests: XCTestCase {
    /// A sender node firing `count` messages 1 ms apart at a receiver that counts them.
    private func blast(seed: UInt64, count: Int, configure: (Network) -> Void) -> (received: [Int], network: Network) {
        let simulation = Simulation(seed: seed)
        configure(simulation.network)
        let sender = simulation.addNode("sender"), receiver = simulation.addNode("receiver")
        var received: [Int] = []
        receiver.addProcess("sink") { context in
            let inbox = context.mailbox("sink")
            while true {
                let envelope = await inbox.receive()
                received.append(envelope.payload as! Int)
            }
        }
        sender.addProcess("source") { context in
            for i in 0 ..< count {
                context.send(to: Address(node: receiver.id, service: "sink"), i)
                await context.sleep(nanoseconds: Nanos.millisecond)
            }
        }
        simulation.run()
        return (received, simulation.network)
    }

    func testFaultFreeNetworkDeliversEverythingInOrderWithinTheLatencyBounds() {
        let simulation = Simulation(seed: 3)
        let a = simulation.addNode("a"), b = simulation.addNode("b")
        var delays: [Int64] = []
        b.addProcess("echo") { context in
            let inbox = context.mailbox("in")
            while true {
                let envelope = await inbox.receive()
                delays.append(simulation.now - envelope.sentAt)
            }
        }
        a.addProcess("send") { context in
            for i in 0 ..< 200 { context.send(to: Address(node: b.id, service: "in"), i) }
        }
        simulation.run()
        XCTAssertEqual(delays.count, 200)
        XCTAssertTrue(delays.allSatisfy { (50 * Nanos.microsecond ... 500 * Nanos.microsecond).contains($0) }, "\(delays.min()!)..\(delays.max()!)")
        let (received, network) = blast(seed: 3, count: 100) { _ in }
        XCTAssertEqual(received, Array(0 ..< 100), "links are FIFO without reordering")
        XCTAssertEqual(network.statistics.delivered, 100)
    }

    /// A link's last arrival is kept in a table that grows with the nodes' indices: a burst on a
    /// link, then nodes added past the table's first size (32) and messages between them, then a
    /// second burst on the first link, each message sent at once: every link stays FIFO and no
    /// message arrives before one sent ahead of it on its link.
    func testLinksStayFIFOWhileTheLinkTableGrows() {
        let simulation = Simulation(seed: 5)
        simulation.network.options.latency = .uniform(min: Nanos.microsecond, max: 900 * Nanos.microsecond)
        let a = simulation.addNode("a"), b = simulation.addNode("b")
        var received: [String: [Int]] = [:]  // by link; a payload is link * 1,000 + index
        func sink(_ node: Node) {
            node.addProcess("sink") { context in
                let inbox = context.mailbox("sink")
                while true {
                    let payload = await inbox.receive().payload as! Int
                    received[payload >= 1_000 ? "a-far" : "a-b", default: []].append(payload % 1_000)
                }
            }
        }
        sink(b)
        let far = (0 ..< 40).map { simulation.addNode("far-\($0)") }.last!
        sink(far)
        a.addProcess("source") { context in
            for i in 0 ..< 50 { context.send(to: Address(node: b.id, service: "sink"), i) }
            for i in 0 ..< 50 { context.send(to: Address(node: far.id, service: "sink"), 1_000 + i) }
            await context.sleep(nanoseconds: 100 * Nanos.microsecond)  // the first burst is still in flight
            for i in 50 ..< 100 { context.send(to: Address(node: b.id, service: "sink"), i) }
        }
        simulation.run()
        XCTAssertEqual(received["a-b"], Array(0 ..< 100))
        XCTAssertEqual(received["a-far"], Array(0 ..< 50))
        XCTAssertGreaterThanOrEqual(simulation.network.arrivalStride, 42, "the table grew past its first size")
    }

    /// A message to an address on no node (the address a platform gives a role its topology
    /// lacks) is lost like one to a machine that does not exist: counted, and a call to it times
    /// out; the run goes on (it used to trap when the message arrived).
    func testAMessageToANodeThatDoesNotExistIsLostNotATrap() {
        let simulation = Simulation(seed: 2)
        let a = simulation.addNode("a")
        var answer: Result<Envelope, RPCError>?
        a.addProcess("caller") { context in
            context.send(to: Address(node: NodeID(Int.max), service: "nobody"), 1)
            answer = await context.call(Address(node: NodeID(7), service: "nobody"), 2, timeout: Nanos.second)
        }
        XCTAssertEqual(simulation.run(), .passed)
        XCTAssertEqual(simulation.network.statistics.lostNoListener, 2)
        guard case .failure(.timeout(_, _)) = answer else { return XCTFail("the call was answered: \(String(describing: answer))") }
    }

    /// 10,000 messages with drop 1/10: expected 1,000 dropped, sd = sqrt(10,000 * 0.1 * 0.9) = 30.
    /// The bound of +-5 sd (850 ... 1,150) fails by chance with probability below 1e-6.
    func testDropRateWithinBinomialBound() {
        let (received, network) = blast(seed: 21, count: 10_000) { $0.options.dropProbability = Ratio(1, 10) }
        let dropped = 10_000 - received.count
        XCTAssertTrue((850 ... 1150).contains(dropped), "dropped \(dropped)")
        XCTAssertEqual(network.statistics.dropped, dropped)
    }

    /// 10,000 messages with duplicate 1/20: expected 500 copies, sd = sqrt(10,000 * 0.05 * 0.95) =
    /// 21.8; +-5 sd is 391 ... 609.
    func testDuplicateRateWithinBinomialBound() {
        let (received, network) = blast(seed: 22, count: 10_000) { $0.options.duplicateProbability = Ratio(1, 20) }
        let copies = received.count - 10_000
        XCTAssertTrue((391 ... 609).contains(copies), "copies \(copies)")
        XCTAssertEqual(network.statistics.duplicated, copies)
        XCTAssertEqual(Set(received).count, 10_000)
    }

    func testReorderingLetsLaterMessagesOvertake() {
        let (received, _) = blast(seed: 5, count: 200) {
            $0.options.reorderProbability = Ratio(1, 4)
            $0.options.reorderDelay = .uniform(min: 0, max: 20 * Nanos.millisecond)
        }
        XCTAssertEqual(received.count, 200)
        XCTAssertNotEqual(received, Array(0 ..< 200))
        XCTAssertEqual(received.sorted(), Array(0 ..< 200))
    }

    func testOneWayPartitionBlocksOneDirectionOnly() {
        let simulation = Simulation(seed: 1)
        let a = simulation.addNode("a"), b = simulation.addNode("b")
        var atA: [String] = [], atB: [String] = []
        a.addProcess("p") { context in
            let inbox = context.mailbox("in")
            context.send(to: Address(node: b.id, service: "in"), "a->b")
            while true { atA.append((await inbox.receive()).payload as! String) }
        }
        b.addProcess("p") { context in
            let inbox = context.mailbox("in")
            context.send(to: Address(node: a.id, service: "in"), "b->a")
            while true { atB.append((await inbox.receive()).payload as! String) }
        }
        simulation.network.partitionOneWay(from: a.id, to: b.id)
        simulation.run()
        XCTAssertEqual(atA, ["b->a"])
        XCTAssertEqual(atB, [])
        XCTAssertTrue(simulation.network.isPartitioned(from: a.id, to: b.id))
        XCTAssertFalse(simulation.network.isPartitioned(from: b.id, to: a.id))
    }

    func testSymmetricPartitionAndHeal() {
        let (received, network) = blast(seed: 1, count: 30) { network in
            let simulation = network.simulation
            simulation.schedule(at: 10 * Nanos.millisecond) { network.partition([NodeID(0)], [NodeID(1)]) }
            simulation.schedule(at: 20 * Nanos.millisecond) { network.healPartitions() }
        }
        // Sends at 0..9 ms arrive; 10..19 ms are cut (at send or in flight); 20..29 ms arrive.
        XCTAssertEqual(received, Array(0 ..< 10) + Array(20 ..< 30))
        XCTAssertEqual(network.statistics.blockedByPartition, 10)
    }

    func testClogDelaysAndHoldReleasesInOrder() {
        let (clogged, _) = blast(seed: 1, count: 5) { network in
            network.clog(from: NodeID(0), to: NodeID(1), until: 100 * Nanos.millisecond)
        }
        XCTAssertEqual(clogged, Array(0 ..< 5))
        let simulation = Simulation(seed: 1)
        let a = simulation.addNode("a"), b = simulation.addNode("b")
        var arrivals: [(Int, Int64)] = []
        b.addProcess("in") { context in
            let inbox = context.mailbox("in")
            while true { let e = await inbox.receive(); arrivals.append((e.payload as! Int, simulation.now)) }
        }
        a.addProcess("out") { context in
            for i in 0 ..< 3 { context.send(to: Address(node: b.id, service: "in"), i) }
        }
        simulation.network.hold(from: a.id, to: b.id)
        simulation.schedule(at: Nanos.second) { simulation.network.release(from: a.id, to: b.id) }
        simulation.run()
        XCTAssertEqual(arrivals.map(\.0), [0, 1, 2])
        XCTAssertTrue(arrivals.allSatisfy { $0.1 == Nanos.second })
    }

    func testMessagesToACrashedNodeAreLost() {
        let (received, network) = blast(seed: 1, count: 10) { network in
            let simulation = network.simulation
            simulation.schedule(at: 4 * Nanos.millisecond + 1) { simulation.node(NodeID(1)).crash() }
        }
        XCTAssertEqual(received, [0, 1, 2, 3])
        XCTAssertEqual(network.statistics.lostToCrashedNode + network.statistics.lostNoListener, 6)
    }

    func testRPCRepliesAndTimesOut() {
        let simulation = Simulation(seed: 1)
        let client = simulation.addNode("client"), server = simulation.addNode("server")
        var results: [String] = []
        server.addProcess("doubler") { context in
            let inbox = context.mailbox("doubler")
            while true {
                let request = await inbox.receive()
                let value = request.payload as! Int
                if value < 0 { continue }  // never answers negative numbers
                context.reply(to: request, value * 2)
            }
        }
        client.addProcess("caller") { context in
            let target = Address(node: server.id, service: "doubler")
            do {
                let doubled = try await context.call(target, 21, timeout: 10 * Nanos.millisecond, as: Int.self)
                results.append("ok \(doubled)")
                _ = try await context.call(target, -1, timeout: 10 * Nanos.millisecond, as: Int.self)
            } catch {
                results.append("\(error) at \(simulation.now)")
            }
            do {
                _ = try await context.call(target, 1, timeout: 10 * Nanos.millisecond, as: String.self)
            } catch {
                results.append("\(error)")
            }
        }
        simulation.run()
        XCTAssertEqual(results.count, 3)
        XCTAssertEqual(results[0], "ok 42")
        XCTAssertTrue(results[1].hasPrefix("RPC to n1/doubler timed out after 0.010s"), results[1])
        XCTAssertEqual(results[2], "RPC to n1/doubler: unexpected reply Int")
    }

    func testReceiveWithTimeoutReturnsNil() {
        let simulation = Simulation(seed: 1)
        let node = simulation.addNode("n")
        var result: String?
        node.addProcess("p") { context in
            let inbox = context.mailbox("quiet")
            let envelope = await inbox.receive(timeout: 5 * Nanos.millisecond)
            result = envelope == nil ? "nil at \(simulation.now)" : "message"
        }
        simulation.run()
        XCTAssertEqual(result, "nil at 5000000")
    }
}
