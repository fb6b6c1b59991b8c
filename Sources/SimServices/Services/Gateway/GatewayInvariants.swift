extension GatewayService {
    /// Every request the gateway routed went to an instance of the service its path named (the
    /// instance registered under that name), never to another service's.
    public static func invariants(_ view: ServiceStateView) -> [String] {
        let observations = view.simulation.platformObservations
        var violations: [String] = []
        for (time, target, instance) in observations.routings {
            let service = instance.splitBytes("-").dropLast().joined(separator: "-")  // `models-2` -> `models`
            let name = observations.services[service]?.registeredName ?? service
            if name != target { violations.append("gateway: a request for \(target) went to \(instance) (registered as \(name)) at \(time) ns") }
        }
        return Array(violations.prefix(3))
    }
}
