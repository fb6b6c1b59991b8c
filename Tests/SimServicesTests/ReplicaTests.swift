import XCTest
@testable import SimKernel
@testable import SimServices

/// Replicas of a service: each registers as its own instance, the gateway spreads requests over
/// the passing ones, and a crashed replica's share moves to the others once its check fails.
final class ReplicaTests: XCTestCase {
    func testTheGatewaySpreadsRequestsOverReplicasAndRoutesAroundACrashedOne() {
        var options = SimulationOptions()
        options.maxTime = 60 * Nanos.second
        let simulation = Simulation(seed: 3, options: options)
        let topology = Topology(nodes: Topology.standard.nodes + [NodeSpec(name: "models-b", role: "models"), NodeSpec(name: "client", role: "client")])
        let platform = Platform(on: simulation, topology: topology, defects: .empty)
        var statuses: [(Int64, Int)] = []
        platform.node("client")!.addProcess("requests") { context in
            await context.sleep(for: .seconds(10))
            let token = await ServiceHarness.token(context, gateway: platform.directory.services["gateway"]!, user: "ml-engineer")
            await context.sleep(nanoseconds: 15 * Nanos.second - simulation.now)
            for index in 0 ..< 40 {
                let request = HTTPRequest("POST", "models/create", body: ["name": "m\(index)"], headers: ["authorization": token])
                if case .success(let envelope) = await context.call(platform.directory.services["gateway"]!, HTTPMessage.request(request), timeout: 5 * Nanos.second),
                   case .response(let response) = envelope.payload as? HTTPMessage {
                    statuses.append((simulation.now, response.status))
                }
                await context.sleep(nanoseconds: 500 * Nanos.millisecond)
            }
        }
        simulation.schedule(at: 22 * Nanos.second) { platform.node("models")!.crash() }
        simulation.run()
        let routed = simulation.platformObservations.routings.filter { $0.service == "models" }
        let before = routed.filter { $0.time < 22 * Nanos.second }.map(\.instance)
        XCTAssertEqual(Set(before), ["models-1", "models-2"], "both replicas served before the crash")
        let late = routed.filter { $0.time > 27 * Nanos.second }.map(\.instance)
        XCTAssertFalse(late.isEmpty)
        XCTAssertEqual(Set(late), ["models-2"], "after its check failed, the crashed replica gets nothing")
        XCTAssertTrue(statuses.filter { $0.0 > 27 * Nanos.second }.allSatisfy { $0.1 == 200 }, "\(statuses)")
        // Both replicas share models_db: every model answered 200 is there, whichever replica took it.
        let view = ServiceStateView(simulation: simulation, topology: topology)
        XCTAssertEqual(view.rows("models_db", "SELECT COUNT(*) FROM models")?.first?.first?.integer, Int64(statuses.filter { $0.1 == 200 }.count))
        XCTAssertEqual(GatewayService.invariants(view), [])
    }
}
