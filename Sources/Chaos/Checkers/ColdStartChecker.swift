import SimKernel
import SimServices

/// Cold-start liveness: by the deadline every service of the topology is ready, registered under
/// its name and has answered its first request through the gateway. The message says, per
/// service, what it is stuck on, and names a start-up dependency cycle when there is one.
public final class ColdStartChecker: Checker {
    public static let name = "cold-start"
    public static func whyItCannotFire(in scenario: Scenario) -> String? {
        scenario.has(workload: FirstRequestsWorkload.name) ? nil : "without the first_requests workload no service is asked to answer"
    }
    let services: [String]
    public init(scenario: Scenario) { services = scenario.topology.presentServices }
    public func install(on platform: Platform) {}

    /// Once every service answered, it stays so (first answers are never taken back): the
    /// runner asks after every batch of events, so the answer is kept rather than recomputed.
    var allAnswered = false

    public func converged(_ simulation: Simulation) -> Bool? {
        if allAnswered { return true }
        let succeeded = simulation.platformObservations.firstRequestSucceeded
        guard succeeded.count >= services.count else { return false }  // cheap: no lookups until it can hold
        allAnswered = services.allSatisfy { succeeded[$0] != nil }
        return allAnswered
    }

    public func livenessMessage(_ simulation: Simulation) -> String {
        let observations = simulation.platformObservations
        var parts: [String] = []
        if let cycle = startupCycle(observations) { parts.append("start-up deadlock: " + cycle.joined(separator: " waits for ")) }
        let stuck = services.filter { observations.firstRequestSucceeded[$0] == nil }
        for service in stuck {
            let state = observations.services[service]
            var why: [String] = []
            if let error = state?.startupError { why.append("start-up failed \(state?.startupAttempts ?? 0) times: \(error)") }
            if let waiting = state?.waitingFor, !waiting.isEmpty { why.append("waiting for \(waiting.joined(separator: ", "))") }
            if state?.ready == true, let name = state?.registeredName, name != service { why.append("registered as '\(name)'") }
            if let error = observations.firstRequestError[service] { why.append("first request: \(error)") }
            if simulation.node(named: service)?.state == .crashed { why.append("its node is down") }
            parts.append("\(service): " + (why.isEmpty ? "not ready" : why.joined(separator: "; ")))
        }
        return "\(stuck.count) of \(services.count) services did not answer their first request through the gateway: " + parts.joined(separator: " | ")
    }

    public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] {
        let succeeded = simulation.platformObservations.firstRequestSucceeded
        return ["client", "gateway"] + services.filter { succeeded[$0] == nil }
    }

    /// A cycle in "service A's start-up waits for service B".
    func startupCycle(_ observations: PlatformObservations) -> [String]? {
        let known = Set(services)
        func next(_ service: String) -> [String] { (observations.services[service]?.waitingFor ?? []).filter { known.contains($0) }.sorted() }
        for start in services {
            var path = [start]
            var current = start
            while let following = next(current).first, path.count <= known.count {
                if following == start { return path + [start] }
                if path.contains(following) { break }
                path.append(following)
                current = following
            }
        }
        return nil
    }
}
