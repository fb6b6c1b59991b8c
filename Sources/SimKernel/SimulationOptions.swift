/// Limits and switches of one run. Every field has a default; a run without options is
/// fault-free and bounded.
public struct SimulationOptions: Sendable, Hashable {
    /// The run stops (as passed, unless a check failed) when virtual time would pass this, in ns.
    public var maxTime: Int64 = Nanos.hour
    /// The run stops with `.outOfEvents` after this many events (jobs included).
    public var maxEvents: UInt64 = 100_000_000
    /// Whether `buggify` fault points may fire in this run.
    public var buggify: Bool = false
    /// How many recent trace records to keep for failure reports (0: none).
    public var traceRingCapacity: Int = 256
    /// Run safety checkers after every this many events (1: after every event).
    public var safetyCheckInterval: UInt64 = 1
    /// How concurrent deliveries and lock requests are ordered (see `SchedulingStrategy`).
    public var strategy: SchedulingStrategy = .random
    /// Go on after a safety violation: each checker's first violation is kept in
    /// `Simulation.findings` (the checker is then silenced) and the run continues until a deadlock,
    /// a liveness deadline, its goal or its horizon. The run's outcome is still the first finding.
    public var keepGoing: Bool = false

    public init() {}
}
