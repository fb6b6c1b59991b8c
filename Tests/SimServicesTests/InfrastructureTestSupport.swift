import XCTest
@testable import SimKernel
@testable import SimServices

/// A simulation with one server node running `server` and a client node running `client`.
func runInfra(seed: UInt64 = 1, serverName: String, disk: DiskOptions = DiskOptions(),
              server: @escaping (ProcessContext) async -> Void,
              client: @escaping (ProcessContext, Node) async -> Void, setup: (Simulation, Node) -> Void = { _, _ in }) -> Simulation {
    let simulation = Simulation(seed: seed)
    let serverNode = simulation.addNode(serverName, disk: disk), clientNode = simulation.addNode("app")
    serverNode.addProcess(serverName) { await server($0) }
    clientNode.addProcess("client") { await client($0, serverNode) }
    setup(simulation, serverNode)
    simulation.run()
    return simulation
}
