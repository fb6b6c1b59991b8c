import SimKernel
import SimServices

/// Each service's own invariants (kept in the service's folder, `<Service>Invariants.swift`),
/// judged on what the run left in its stores: its database rows as a restarted process would
/// read them, its objects as a GET would return them. Fails with the first violations found,
/// naming the service and the rows.
public final class ServiceInvariantsChecker: Checker {
    public static let name = "service-invariants"
    public static func whyItCannotFire(in scenario: Scenario) -> String? {
        let present = Set(scenario.topology.presentServices)
        return ServiceInvariants.all.contains { present.contains($0.service) } ? nil : "the topology runs none of the services that have invariants"
    }
    let topology: Topology
    public init(scenario: Scenario) { topology = scenario.topology }
    public func install(on platform: Platform) {}

    public func finalViolation(_ simulation: Simulation) -> String? {
        let view = ServiceStateView(simulation: simulation, topology: topology, reusingConnections: true)
        defer { view.close() }
        let present = Set(topology.presentServices)
        let violations = ServiceInvariants.all.filter { present.contains($0.service) }.flatMap { $0.check(view) }
        guard !violations.isEmpty else { return nil }
        return violations.prefix(3).joined(separator: "; ") + (violations.count > 3 ? " (and \(violations.count - 3) more)" : "")
    }

    public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] {
        nodesMentioned(in: outcome.message, simulation)
    }
}
