import XCTest
@testable import SimKernel
@testable import SimServices

final class SchedulerServiceTests: XCTestCase {
    /// The leader stores schedules and counts them; a cron without five fields is refused.
    func testTheLeaderStoresSchedulesAndRefusesABadCron() {
        let outcome = ServiceHarness.run("scheduler", [
            HTTPRequest("POST", "scheduler/schedules", body: ["name": "nightly", "cron": "0 2 * * *"]),
            HTTPRequest("POST", "scheduler/schedules", body: ["name": "hourly", "cron": "0 * * * *", "tz": "UTC"]),
            HTTPRequest("POST", "scheduler/schedules", body: ["name": "broken", "cron": "0 2 *"]),
        ])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 200, 400])
        XCTAssertEqual(outcome.responses[1]?.body["schedules"], "2")
        XCTAssertEqual(SchedulerService.invariants(outcome.view), [])
    }

    func testTheInvariantFindsAPlacementOfAJobTrainingNeverAccepted() {
        let outcome = ServiceHarness.run("scheduler", [HTTPRequest("POST", "scheduler/schedules", body: ["cron": "0 2 * * *"])])
        ServiceHarness.write(outcome, "experiments_db", "INSERT INTO placements(job, spec) VALUES ('ghost', '{}')")
        XCTAssertEqual(SchedulerService.invariants(outcome.view), ["scheduler: placed job ghost was never accepted by training",
                                                                    "scheduler: the placement of ghost holds a spec of another job"])
    }
}

final class SchedulerReplicaTests: XCTestCase {
    /// With two scheduler replicas one leads and serves; the other waits in its start-up for
    /// leadership (not registered, so the gateway never routes to it). When the leader's node
    /// crashes, its Consul session expires and the standby takes over and answers.
    func testAStandbySchedulerTakesOverWhenTheLeaderCrashes() {
        var options = SimulationOptions()
        options.maxTime = 60 * Nanos.second
        let simulation = Simulation(seed: 2, options: options)
        let topology = Topology(nodes: Topology.standard.nodes + [NodeSpec(name: "scheduler-b", role: "scheduler"), NodeSpec(name: "client", role: "client")])
        let platform = Platform(on: simulation, topology: topology, defects: .empty)
        var rounds: [[String]] = [[], []]
        platform.node("client")!.addProcess("ask-both") { context in
            for (round, at) in [Int64(15), 45].enumerated() {
                await context.sleep(nanoseconds: at * Nanos.second - simulation.now)
                for node in ["scheduler", "scheduler-b"] {
                    let address = Address(node: platform.node(node)!.id, service: "http")
                    if case .success(let envelope) = await context.call(address, HTTPMessage.request(ForwardedIdentity.asService("ops", HTTPRequest("POST", "scheduler/schedules", body: ["cron": "0 2 * * *"]), by: context, for: address)), timeout: 2 * Nanos.second),
                       case .response(let response) = envelope.payload as? HTTPMessage, response.status == 200 { rounds[round].append(node) }
                }
                if round == 0, let leader = rounds[0].first { simulation.schedule(after: 0) { platform.node(leader)!.crash() } }
            }
        }
        simulation.run()
        XCTAssertEqual(rounds[0].count, 1, "one leader answers, the standby does not: \(rounds)")
        XCTAssertEqual(rounds[1].count, 1, "after the leader's crash, one answers: \(rounds)")
        XCTAssertNotEqual(rounds[0], rounds[1], "the standby took over: \(rounds)")
    }
}
