import XCTest
@testable import SimKernel
@testable import SimServices

/// The platform builder and service life-cycle pieces that scenarios rely on.
final class PlatformTests: XCTestCase {
    /// A start-up that fails after the scheduler took leadership is retried by the supervisor: the
    /// retry must get leadership again. (Before: each attempt made a new Consul session and a
    /// renewal task; the first attempt's task kept its session, and so the `scheduler/leader` key,
    /// alive, and the retry waited for the key forever. One cold start in a few thousand hung so.)
    func testARetriedSchedulerStartupRegainsLeadership() {
        var options = SimulationOptions()
        options.maxTime = 60 * Nanos.second
        let simulation = Simulation(seed: 11, options: options)
        let topology = Topology(nodes: [NodeSpec(name: "consul", role: "consul"), NodeSpec(name: "scheduler", role: "client")])
        let platform = Platform(on: simulation, topology: topology, defects: .empty)
        var leaderAt: [Int64] = []
        var sessions: [String?] = []
        platform.node("scheduler")!.addProcess("probe") { context in
            let runtime = ServiceRuntime(context: context, spec: SchedulerService.spec(), directory: platform.directory, defects: .empty)
            let first = await SchedulerService.takeLeadership(runtime)
            XCTAssertNil(first)
            leaderAt.append(simulation.now)
            sessions.append(await runtime.state(SchedulerService.State.self).session)
            // The attempt fails after this point (say, its Consul registration); the supervisor
            // waits and retries the whole start-up in the same process.
            await context.sleep(for: .seconds(5))
            let second = await SchedulerService.takeLeadership(runtime)
            XCTAssertNil(second)
            leaderAt.append(simulation.now)
            sessions.append(await runtime.state(SchedulerService.State.self).session)
        }
        XCTAssertEqual(simulation.run(), .passed)
        XCTAssertEqual(leaderAt.count, 2, "the retried start-up never regained leadership")
        XCTAssertLessThan((leaderAt.last ?? .max) - 5 * Nanos.second - (leaderAt.first ?? 0), Nanos.second, "leadership regained at once")
        XCTAssertEqual(sessions.count, 2)
        XCTAssertEqual(sessions.first!, sessions.last!, "one session per process, not per attempt")
    }

    /// Overlapping partitions heal one at a time: the end of one leaves the other's cuts in place.
    func testAPartitionsEndHealsOnlyThatPartition() {
        let simulation = Simulation(seed: 1)
        let a = simulation.addNode("a"), b = simulation.addNode("b"), c = simulation.addNode("c")
        simulation.network.partition([a.id], [b.id, c.id])
        simulation.network.partition([a.id, b.id], [c.id])
        simulation.network.heal([a.id], [b.id, c.id])
        XCTAssertFalse(simulation.network.isPartitioned(from: a.id, to: b.id))
        XCTAssertTrue(simulation.network.isPartitioned(from: a.id, to: c.id), "a|c is still cut by the second partition")
        XCTAssertTrue(simulation.network.isPartitioned(from: c.id, to: b.id))
        simulation.network.heal([a.id, b.id], [c.id])
        XCTAssertFalse(simulation.network.isPartitioned(from: a.id, to: c.id))
    }

    /// The standard topology: nine infrastructure nodes and fifteen services, consul not crashable.
    func testTheStandardTopologyHasEveryServiceAndInfrastructureComponent() {
        let topology = Topology.standard
        XCTAssertEqual(topology.nodes.count, 24)
        XCTAssertEqual(topology.presentServices, Topology.services)
        XCTAssertEqual(topology.names.filter { !topology.crashable.contains($0) }, ["consul"])
        for node in topology.nodes { XCTAssertNotNil(PlatformRoles.installers[node.role], node.role) }
    }
}

/// The registry's version = MAX + 1 under concurrent registrations of one model.
final class RegistryConcurrencyTests: XCTestCase {
    /// Four registrations of one model sent at the same instant through the gateway: their
    /// transactions interleave (each reads MAX before any inserts), the losers are rolled back with
    /// a serialization failure and retried, and the versions come out 1...4, each once.
    func testConcurrentRegistrationsOfOneModelGetDistinctVersions() {
        var options = SimulationOptions()
        options.maxTime = 40 * Nanos.second
        let simulation = Simulation(seed: 5, options: options)
        let recorder = RecordingTraceSink()
        simulation.trace.add(sink: recorder)
        let topology = Topology(nodes: Topology.standard.nodes + [NodeSpec(name: "client", role: "client")])
        let platform = Platform(on: simulation, topology: topology, defects: .empty)
        var versions: [String] = []
        for caller in 0 ..< 4 {
            platform.node("client")!.addProcess("register-\(caller)") { context in
                // A scientist's token and the model (create-if-absent), then the registrations all
                // at 15 s, when the platform is up.
                await context.sleep(for: .seconds(10))
                let gateway = platform.directory.services["gateway"]!, token = await ServiceHarness.token(context, gateway: gateway, user: "ml-engineer")
                let create = HTTPRequest("POST", "models/create", body: ["name": "fraud-detector"], headers: ["authorization": token])
                while true {
                    if case .success(let envelope) = await context.call(gateway, HTTPMessage.request(create), timeout: 2 * Nanos.second),
                       case .response(let response) = envelope.payload as? HTTPMessage, response.status == 200 { break }
                    await context.sleep(nanoseconds: 200 * Nanos.millisecond)
                }
                await context.sleep(nanoseconds: 15 * Nanos.second - simulation.now)
                let request = HTTPRequest("POST", "registry/versions", body: ["model": "fraud-detector"], headers: ["authorization": token])
                if case .success(let envelope) = await context.call(platform.directory.services["gateway"]!, HTTPMessage.request(request), timeout: 5 * Nanos.second),
                   case .response(let response) = envelope.payload as? HTTPMessage, response.status == 200 {
                    versions.append(response.body["version"] ?? "?")
                }
            }
        }
        simulation.run()
        XCTAssertEqual(versions.sorted(), ["1", "2", "3", "4"])
        let conflicts = recorder.records.filter { $0.kind == TraceKind.sqlConflict.name && $0.detail.contains("register-t1/fraud-detector") }
        XCTAssertFalse(conflicts.isEmpty, "the registrations did interleave (at least one lost a conflict and was retried)")
    }
}
