import SimKernel
import SimServices

/// Routing safety: the gateway routes only to instances that registered with a health check and
/// only after they were ready (so Consul's "passing" means "can serve"), and never to an instance
/// Consul held critical at routing time. The gateway routes on a listing at most
/// `GatewayService.healthViewNanos` (100 ms) old, so "critical at routing time" means critical
/// throughout the 100 ms before the route: any listing the gateway may use was taken inside them.
public final class RoutingChecker: Checker, SafetyChecker {
    public static let name = "routing"
    public var name: String { Self.name }
    /// Reads only observations and node state: see `SafetyChecker.runsOnChangesOnly`.
    public var runsOnChangesOnly: Bool { true }
    public static func whyItCannotFire(in scenario: Scenario) -> String? {
        scenario.topology.has(role: "gateway") && !scenario.workloads.isEmpty ? nil : "no request goes through a gateway in this scenario"
    }
    var checked = 0
    public init(scenario: Scenario) {}
    public init() {}
    var observations: PlatformObservations?
    public func install(on platform: Platform) {
        observations = platform.simulation.platformObservations
        platform.simulation.add(checker: self)
    }
    public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { ["gateway"] + nodesMentioned(in: outcome.message, simulation) }

    public func check(_ simulation: Simulation) -> String? {
        let observations = self.observations ?? simulation.platformObservations
        while checked < observations.routings.count {
            let routing = observations.routings[checked]
            checked += 1
            let state = observations.services[routing.service]
            if state?.registeredWithCheck == false {
                return "the gateway routed a request to \(routing.instance), which registered in Consul without a health check: it counts as passing whatever its state"
            }
            if observations.consulHeldCritical(routing.instance, from: routing.time - GatewayService.healthViewNanos, to: routing.time) {
                let since = observations.consulHealth[routing.instance]!.last { $0.at <= routing.time && $0.critical }!.at
                return "the gateway routed a request to \(routing.instance) at \(formatNanoseconds(routing.time)), which Consul had held critical since \(formatNanoseconds(since)) "
                    + "(more than the gateway's \(formatNanoseconds(GatewayService.healthViewNanos)) health view)"
            }
            if state?.registeredBeforeReady == true {
                return "the gateway routed a request to \(routing.instance) at \(formatNanoseconds(routing.time)), which registered (and passed its check) before it was ready to serve"
            }
        }
        return nil
    }
}
