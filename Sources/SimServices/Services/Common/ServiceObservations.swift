import SimKernel

/// What checkers and reports see of the platform's services.
public final class PlatformObservations {
    public struct ServiceState: Sendable {
        public var ready = false
        public var readyAt: Int64?
        public var registeredAt: Int64?
        public var registeredName: String?
        public var registeredWithCheck = false
        public var registeredBeforeReady = false
        public var startupError: String?
        public var startupAttempts = 0
        /// What start-up is waiting for right now (dependencies, infrastructure).
        public var waitingFor: [String] = []
    }
    public var services: [String: ServiceState] = [:]
    /// Requests the gateway routed: (time, service, instance id).
    public var routings: [(time: Int64, service: String, instance: String)] = []
    /// When each service first answered its first request through the gateway.
    public var firstRequestSucceeded: [String: Int64] = [:]
    /// The last failure of each service's first request.
    public var firstRequestError: [String: String] = [:]

    public init() {}

    public func update(_ service: String, _ change: (inout ServiceState) -> Void) {
        var state = services[service] ?? ServiceState()
        change(&state)
        services[service] = state
    }
}

extension Simulation {
    public var platformObservations: PlatformObservations { component(PlatformObservations.self) { PlatformObservations() } }
}
