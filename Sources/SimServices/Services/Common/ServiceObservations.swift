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
    public var services: [String: ServiceState] {
        get { _services }
        _modify { changes.note(); yield &_services }
        set { changes.note(); _services = newValue }
    }
    private var _services: [String: ServiceState] = [:]
    /// Requests the gateway routed: (time, service, instance id).
    public var routings: [(time: Int64, service: String, instance: String)] {
        get { _routings }
        _modify { changes.note(); yield &_routings }
        set { changes.note(); _routings = newValue }
    }
    private var _routings: [(time: Int64, service: String, instance: String)] = []
    /// Requests the gateway's rate limiter admitted, by caller (`tenant/key`): their times, in order.
    public var admissions: [String: [Int64]] {
        get { _admissions }
        _modify { changes.note(); yield &_admissions }
        set { changes.note(); _admissions = newValue }
    }
    private var _admissions: [String: [Int64]] = [:]
    /// Requests it refused with 429, retries it sent and refused for want of budget, and the
    /// times a circuit breaker opened.
    public var rateLimited = 0 { didSet { changes.note() } }
    /// Requests the gateway answered 429 because their address's refused-token bucket was full
    /// (auth never asked).
    public var tokenChecksLimited = 0 { didSet { changes.note() } }
    public var retries = 0 { didSet { changes.note() } }
    public var retriesRefused = 0 { didSet { changes.note() } }
    public var breakersOpened = 0 { didSet { changes.note() } }
    /// Bumped on every admission, so the rate-limit check can skip the other events.
    public var admissionsRevision: UInt64 = 0 { didSet { changes.note() } }
    /// When each service first answered its first request through the gateway.
    public var firstRequestSucceeded: [String: Int64] {
        get { _firstRequestSucceeded }
        _modify { changes.note(); yield &_firstRequestSucceeded }
        set { changes.note(); _firstRequestSucceeded = newValue }
    }
    private var _firstRequestSucceeded: [String: Int64] = [:]
    /// The last failure of each service's first request.
    public var firstRequestError: [String: String] {
        get { _firstRequestError }
        _modify { changes.note(); yield &_firstRequestError }
        set { changes.note(); _firstRequestError = newValue }
    }
    private var _firstRequestError: [String: String] = [:]

    /// Consul's health transitions of each instance, in time order: when its check went critical
    /// (`critical: true`) or passing again. The routing check reads it against the gateway's routes.
    public var consulHealth: [String: [(at: Int64, critical: Bool)]] {
        get { _consulHealth }
        _modify { changes.note(); yield &_consulHealth }
        set { changes.note(); _consulHealth = newValue }
    }
    private var _consulHealth: [String: [(at: Int64, critical: Bool)]] = [:]

    /// Noted on every change of a stored property, for change-driven checkers.
    public let changes: ChangeCounter
    public init(changes: ChangeCounter = ChangeCounter()) { self.changes = changes }

    /// Records that Consul now holds `instance` critical or passing (only changes are kept).
    public func consul(_ instance: String, critical: Bool, at time: Int64) {
        guard consulHealth[instance]?.last?.critical ?? false != critical else { return }
        consulHealth[instance, default: []].append((time, critical))
    }

    /// Whether Consul held `instance` critical throughout `[from, to]`.
    public func consulHeldCritical(_ instance: String, from: Int64, to: Int64) -> Bool {
        guard let transitions = consulHealth[instance] else { return false }
        var criticalAtStart = false
        for transition in transitions {
            if transition.at <= from {
                criticalAtStart = transition.critical
            } else if transition.at <= to, !transition.critical {
                return false  // passing again within the window
            }
        }
        return criticalAtStart
    }

    public func update(_ service: String, _ change: (inout ServiceState) -> Void) {
        var state = services[service] ?? ServiceState()
        change(&state)
        services[service] = state
    }
}

extension Simulation {
    public var platformObservations: PlatformObservations { component(PlatformObservations.self) { PlatformObservations(changes: checkerChanges) } }
}
