import SimKernel

/// How the inference replicas serve, set by a scenario's serving workload (defaults otherwise).
public struct ServingConfiguration: Hashable, Sendable, Codable {
    /// Model versions a replica keeps loaded (the incident's `max_size = 10`).
    public var cacheSize = 10
    /// Memory a replica uses besides its models (runtime, libraries), in MiB.
    public var baseMiB = 0
    /// A prediction's compute time, drawn uniformly from this range, in ms.
    public var predictionMillis: ClosedRange<Int> = 2 ... 10
    /// What a version's first prediction on a replica costs on top (building its compute graph),
    /// in ms; a warm-up request pays it before the version takes traffic. 0: no cold start.
    public var coldStartMillis = 0

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
        /// The version just loaded while every other one was in use (kept over capacity until an unpin).
        public var spared: ModelKey?
        public var capacity: Int
        /// Versions evicted so far, and loaded so far.
        public var evictions: Int
        public var loads: Int
        /// The node's resident memory at its highest, as seen at the replica's cache changes.
        public var peakBytes: Int
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
        /// The A/B user the request was for, the version that answered, the named features the
        /// request carried, and the replica's compute time in ms (admission to answer).
        public var user: String?
        public var servedVersion: Int64?
        public var features: [String]?
        public var computeMillis: Int?
        /// Answered with an internal error: a 5xx other than an unavailability (503) or the
        /// gateway's bad answer or timeout (502, 504), which faults may cause.
        public var isInternalError: Bool { status >= 500 && ![502, 503, 504].contains(status) }
        public init(sentAt: Int64, answeredAt: Int64, model: String, version: Int64?, status: Int, replica: String?, error: String?,
                    user: String? = nil, servedVersion: Int64? = nil, features: [String]? = nil, computeMillis: Int? = nil) {
            self.sentAt = sentAt
            self.answeredAt = answeredAt
            self.model = model
            self.version = version
            self.status = status
            self.replica = replica
            self.error = error
            self.user = user
            self.servedVersion = servedVersion
            self.features = features
            self.computeMillis = computeMillis
        }
    }
    public var answers: [Answer] = []
    /// Versions promoted to Production by the deployments workload: (time, model, version).
    public var deployments: [(time: Int64, model: String, version: Int64)] = []
    /// Every prediction's compute time as its replica measured it (admission to answer), as a
    /// latency histogram would record it: (time, replica, model, version, ms).
    public var computed: [(time: Int64, replica: String, model: String, version: Int64, millis: Int64)] = []
    /// When the A/B experiment started taking traffic.
    public var experimentStartedAt: Int64?
    /// Nodes the kernel killed for running out of memory: (time, node).
    public var outOfMemoryKills: [(time: Int64, node: String)] = []
    /// Bumped on every change, so checkers that run after every event can skip the others.
    public var revision: UInt64 = 0

    public init() {}
}

extension Simulation {
    public var serving: ServingObservations { component(ServingObservations.self) { ServingObservations() } }
}
