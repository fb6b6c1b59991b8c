import SimKernel

/// How the inference replicas serve, set by a scenario's serving workload (defaults otherwise).
public struct ServingConfiguration: Hashable, Sendable, Codable {
    /// Model versions a replica keeps loaded (the incident's `max_size = 10`).
    public var cacheSize = 10
    /// Memory a replica uses besides its models (runtime, libraries), in MiB.
    public var baseMiB = 0
    /// A prediction's compute time, drawn uniformly from this range, in ms.
    public var predictionMillis: ClosedRange<Int> = 2 ... 10

    public init() {}
}

/// What checkers and reports see of model serving.
public final class ServingObservations {
    /// One inference replica's view of its memory, as its cache accounts for it.
    public struct Replica: Sendable {
        public var epoch: UInt64
        public var baseBytes: Int
        /// Bytes of the versions the cache holds, and the versions with their pins.
        public var cachedBytes: Int
        public var cached: [(key: ModelKey, pins: Int)]
        public var capacity: Int
        /// Versions evicted so far, and loaded so far.
        public var evictions: Int
        public var loads: Int
    }
    /// By node name.
    public var replicas: [String: Replica] = [:]
    /// One answer to a prediction the clients sent.
    public struct Answer: Sendable {
        public var sentAt: Int64
        public var answeredAt: Int64
        public var model: String
        public var version: Int64?
        public var status: Int
        public var replica: String?
        public var error: String?
        public init(sentAt: Int64, answeredAt: Int64, model: String, version: Int64?, status: Int, replica: String?, error: String?) {
            self.sentAt = sentAt
            self.answeredAt = answeredAt
            self.model = model
            self.version = version
            self.status = status
            self.replica = replica
            self.error = error
        }
    }
    public var answers: [Answer] = []
    /// Versions promoted to Production by the deployments workload: (time, model, version).
    public var deployments: [(time: Int64, model: String, version: Int64)] = []
    /// Bumped on every change, so checkers that run after every event can skip the others.
    public var revision: UInt64 = 0

    public init() {}
}

extension Simulation {
    public var serving: ServingObservations { component(ServingObservations.self) { ServingObservations() } }
}
