import SimKernel
import SimServices

/// Routing safety: the gateway routes only to instances that registered with a health check and
/// only after they were ready (so Consul's "passing" means "can serve").
public final class RoutingChecker: SafetyChecker {
    public let name = "routing"
    var checked = 0
    public init() {}
    public func check(_ simulation: Simulation) -> String? {
        let observations = simulation.platformObservations
        while checked < observations.routings.count {
            let routing = observations.routings[checked]
            checked += 1
            let state = observations.services[routing.service]
            if state?.registeredWithCheck == false {
                return "the gateway routed a request to \(routing.instance), which registered in Consul without a health check: it counts as passing whatever its state"
            }
            if state?.registeredBeforeReady == true {
                return "the gateway routed a request to \(routing.instance) at \(formatNanoseconds(routing.time)), which registered (and passed its check) before it was ready to serve"
            }
        }
        return nil
    }
}

/// Cold-start liveness: by the deadline every service is ready, registered under its name and
/// has answered its first request through the gateway. The message says, per service, what it
/// is stuck on, and names a start-up dependency cycle when there is one.
public enum ColdStartLiveness {
    public static func converged(_ simulation: Simulation) -> Bool {
        simulation.platformObservations.firstRequestSucceeded.count == ServicePlatform.services.count
    }

    public static func message(_ simulation: Simulation) -> String {
        let observations = simulation.platformObservations
        var parts: [String] = []
        if let cycle = startupCycle(observations) { parts.append("start-up deadlock: " + cycle.joined(separator: " waits for ")) }
        for service in ServicePlatform.services where observations.firstRequestSucceeded[service] == nil {
            let state = observations.services[service]
            var why: [String] = []
            if let error = state?.startupError { why.append("start-up failed \(state?.startupAttempts ?? 0) times: \(error)") }
            if let waiting = state?.waitingFor, !waiting.isEmpty { why.append("waiting for \(waiting.joined(separator: ", "))") }
            if state?.ready == true, let name = state?.registeredName, name != service { why.append("registered as '\(name)'") }
            if let error = observations.firstRequestError[service] { why.append("first request: \(error)") }
            if simulation.node(named: service)?.state == .crashed { why.append("its node is down") }
            parts.append("\(service): " + (why.isEmpty ? "not ready" : why.joined(separator: "; ")))
        }
        return "\(ServicePlatform.services.count - observations.firstRequestSucceeded.count) of \(ServicePlatform.services.count) services did not answer their first request through the gateway: " + parts.joined(separator: " | ")
    }

    /// A cycle in "service A's start-up waits for service B".
    static func startupCycle(_ observations: PlatformObservations) -> [String]? {
        let services = Set(ServicePlatform.services)
        func next(_ service: String) -> [String] { (observations.services[service]?.waitingFor ?? []).filter { services.contains($0) }.sorted() }
        for start in ServicePlatform.services {
            var path = [start]
            var current = start
            while let following = next(current).first, path.count <= services.count {
                if following == start { return path + [start] }
                if path.contains(following) { break }
                path.append(following)
                current = following
            }
        }
        return nil
    }
}
