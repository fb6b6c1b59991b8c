import SimKernel

/// How the serving path (the gateway's traffic control and the inference replicas) behaves, set
/// by a scenario's serving workload (defaults otherwise).
public struct ServingConfiguration: Hashable, Sendable, Codable {
    /// The gateway's rate limit per caller (tenant and key): requests a second and burst.
    public var rateLimitPerSecond = 5000
    public var rateLimitBurst = 500
    /// Retries may add this many percent to the requests (plus 10 a second).
    public var retryBudgetPercent = 20
    /// A breaker opens after this many failures of an instance in a row, for this long (ms).
    public var breakerThreshold = 5
    public var breakerCooldownMillis = 2000
    /// Autoscaling: predictions a second one inference replica should take (0: no autoscaling).
    public var autoscaleTargetPerReplica = 0
    /// Model versions a replica keeps loaded (the incident's `max_size = 10`).
    public var cacheSize = 10
    /// Memory a replica uses besides its models (runtime, libraries), in MiB.
    public var baseMiB = 0
    /// A prediction's compute time, drawn uniformly from this range, in ms.
    public var predictionMillis: ClosedRange<Int> = 2 ... 10
    /// What a version's first prediction on a replica costs on top (building its compute graph),
    /// in ms; a warm-up request pays it before the version takes traffic. 0: no cold start.
    public var coldStartMillis = 0
    /// How long a cached prediction lives in the shared prediction cache (Redis), in ms. 0: no
    /// prediction cache.
    public var predictionCacheMillis = 0
    /// How long reading an artifact into memory takes, in ms per GiB of its resident size (a
    /// 500 MiB version: 100 ms).
    public var loadMillisPerGiB = 200
    /// Request batching: at most this many requests a batch (1: no batching), closed at the
    /// latest this long after its first request joined; each row beyond the first adds this much
    /// compute, in microseconds.
    public var batchMaxSize = 1
    public var batchMaxWaitMillis = 10
    public var batchRowMicros = 500

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
    public var replicas: [String: Replica] {
        get { _replicas }
        _modify { changes.note(); yield &_replicas }
        set { changes.note(); _replicas = newValue }
    }
    private var _replicas: [String: Replica] = [:]
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
        /// The probability answered, and the request's inputs in the served version's signature
        /// order (nil when the workload cannot say them): what an offline replay recomputes.
        public var p: Float?
        public var inputs: [Float]?
        /// Whether the request named its version (false: the model's Production version serves).
        public var pinned = true
        /// The class label answered, as the replica wrote it (nil when the version answers a probability).
        public var label: String?
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
    public var answers: [Answer] {
        get { _answers }
        _modify { changes.note(); yield &_answers }
        set { changes.note(); _answers = newValue }
    }
    private var _answers: [Answer] = []
    /// A text model's answered predictions (200): (sent at, model, the version and replica that
    /// answered, the text sent, the probability answered), for the offline replay of the same text.
    public var textAnswers: [(sentAt: Int64, model: String, version: Int64, replica: String, text: String, p: Float)] {
        get { _textAnswers }
        _modify { changes.note(); yield &_textAnswers }
        set { changes.note(); _textAnswers = newValue }
    }
    private var _textAnswers: [(sentAt: Int64, model: String, version: Int64, replica: String, text: String, p: Float)] = []
    /// Versions promoted to Production by the deployments workload: (time, model, version).
    public var deployments: [(time: Int64, model: String, version: Int64)] {
        get { _deployments }
        _modify { changes.note(); yield &_deployments }
        set { changes.note(); _deployments = newValue }
    }
    private var _deployments: [(time: Int64, model: String, version: Int64)] = []
    /// Every prediction's compute time as its replica measured it (admission to answer), as a
    /// latency histogram would record it: (time, replica, model, version, ms).
    public var computed: [(time: Int64, replica: String, model: String, version: Int64, millis: Int64)] {
        get { _computed }
        _modify { changes.note(); yield &_computed }
        set { changes.note(); _computed = newValue }
    }
    private var _computed: [(time: Int64, replica: String, model: String, version: Int64, millis: Int64)] = []
    /// Metric samples each inference instance published: (sequence, time), by instance id.
    public var metricSamples: [String: [(sequence: Int, time: Int64)]] {
        get { _metricSamples }
        _modify { changes.note(); yield &_metricSamples }
        set { changes.note(); _metricSamples = newValue }
    }
    private var _metricSamples: [String: [(sequence: Int, time: Int64)]] = [:]
    /// The autoscaler's decisions: (time, replicas, the samples used as (instance, sequence)).
    public var scalingDecisions: [(time: Int64, replicas: Int, samples: [(instance: String, sequence: Int)])] {
        get { _scalingDecisions }
        _modify { changes.note(); yield &_scalingDecisions }
        set { changes.note(); _scalingDecisions = newValue }
    }
    private var _scalingDecisions: [(time: Int64, replicas: Int, samples: [(instance: String, sequence: Int)])] = []
    /// Canary changes the registry committed, as it learned of them: (time, model, version,
    /// percentage (0: ended), generation: the database's order of the model's changes).
    public var canaryChanges: [(time: Int64, model: String, version: Int64, percent: Int, generation: Int64)] {
        get { _canaryChanges }
        _modify { changes.note(); yield &_canaryChanges }
        set { changes.note(); _canaryChanges = newValue }
    }
    private var _canaryChanges: [(time: Int64, model: String, version: Int64, percent: Int, generation: Int64)] = []
    /// Canary rollbacks the rollout completed (its client got the answer): (time, model, version).
    public var canaryRollbacks: [(time: Int64, model: String, version: Int64)] {
        get { _canaryRollbacks }
        _modify { changes.note(); yield &_canaryRollbacks }
        set { changes.note(); _canaryRollbacks = newValue }
    }
    private var _canaryRollbacks: [(time: Int64, model: String, version: Int64)] = []
    /// Each replica's canary per model (version and percentage; absent: none), by node name.
    public var canaries: [String: [String: (version: Int64, percent: Int)]] {
        get { _canaries }
        _modify { changes.note(); yield &_canaries }
        set { changes.note(); _canaries = newValue }
    }
    private var _canaries: [String: [String: (version: Int64, percent: Int)]] = [:]
    /// Each replica's Production pointer per model, as it last moved (by node name).
    public var pointers: [String: [String: Int64]] {
        get { _pointers }
        _modify { changes.note(); yield &_pointers }
        set { changes.note(); _pointers = newValue }
    }
    private var _pointers: [String: [String: Int64]] = [:]
    /// Production moves the registry committed: (time, model, version), in commit order.
    public var promotions: [(time: Int64, model: String, version: Int64)] {
        get { _promotions }
        _modify { changes.note(); yield &_promotions }
        set { changes.note(); _promotions = newValue }
    }
    private var _promotions: [(time: Int64, model: String, version: Int64)] = []
    /// Each replica's model-cache trace, in order (by node name): what an offline LRU replays.
    public var cacheTraces: [String: [CacheEvent]] {
        get { _cacheTraces }
        _modify { changes.note(); cacheTracesRevision &+= 1; yield &_cacheTraces }
        set { changes.note(); cacheTracesRevision &+= 1; _cacheTraces = newValue }
    }
    /// Moves with every change of `cacheTraces` (and nothing else): the cache-eviction checker
    /// skips the serving observations' other changes (a fortieth of a serving run went to
    /// sorting the replicas' names after each).
    public private(set) var cacheTracesRevision: UInt64 = 0
    private var _cacheTraces: [String: [CacheEvent]] = [:]
    public enum CacheEvent: Sendable, Equatable {
        /// A request used `key` (hit: it was loaded) and pinned it; a request ended its use.
        case use(ModelKey, hit: Bool), unpin(ModelKey)
        /// `key` was loaded into the cache (pinned for its request or not); `key` was evicted.
        case insert(ModelKey, pinned: Bool), evict(ModelKey)
        /// The replica restarted: its cache is empty.
        case restart
    }
    /// Reads of a version's artifact from the object store in flight on each replica, and the
    /// most at once seen: (time, replica, version, reads).
    public var artifactReadsInFlight: [String: Int] {
        get { _artifactReadsInFlight }
        _modify { changes.note(); yield &_artifactReadsInFlight }
        set { changes.note(); _artifactReadsInFlight = newValue }
    }
    private var _artifactReadsInFlight: [String: Int] = [:]
    public var concurrentArtifactReads: [(time: Int64, replica: String, key: ModelKey, reads: Int)] {
        get { _concurrentArtifactReads }
        _modify { changes.note(); yield &_concurrentArtifactReads }
        set { changes.note(); _concurrentArtifactReads = newValue }
    }
    private var _concurrentArtifactReads: [(time: Int64, replica: String, key: ModelKey, reads: Int)] = []
    /// Requests waiting in a batch for their answer, by ticket: (admitted at, replica, its epoch,
    /// batch id). An answered (or failed) request leaves; one left behind by a live replica past
    /// the batch's deadline was dropped.
    public var batchWaiting: [UInt64: (admittedAt: Int64, replica: String, epoch: UInt64, batch: UInt64)] {
        get { _batchWaiting }
        _modify { changes.note(); yield &_batchWaiting }
        set { changes.note(); _batchWaiting = newValue }
    }
    private var _batchWaiting: [UInt64: (admittedAt: Int64, replica: String, epoch: UInt64, batch: UInt64)] = [:]
    public var nextTicket: UInt64 = 0 { didSet { changes.note() } }
    /// Sizes of the batches computed (size -> batches), for the benchmark.
    public var batchSizes: [Int: Int] {
        get { _batchSizes }
        _modify { changes.note(); yield &_batchSizes }
        set { changes.note(); _batchSizes = newValue }
    }
    private var _batchSizes: [Int: Int] = [:]
    /// A/B outcomes the clients sent, in order: (sent at, arm's version, acknowledged at or nil).
    public var abOutcomes: [(sentAt: Int64, version: Int64, acknowledgedAt: Int64?)] {
        get { _abOutcomes }
        _modify { changes.note(); yield &_abOutcomes }
        set { changes.note(); _abOutcomes = newValue }
    }
    private var _abOutcomes: [(sentAt: Int64, version: Int64, acknowledgedAt: Int64?)] = []
    /// Verdicts asked for: (sent at, answered at, status, arms `version:n:c,...`, comparisons).
    public var abVerdicts: [(sentAt: Int64, answeredAt: Int64, status: Int, arms: String?, comparisons: String?)] {
        get { _abVerdicts }
        _modify { changes.note(); yield &_abVerdicts }
        set { changes.note(); _abVerdicts = newValue }
    }
    private var _abVerdicts: [(sentAt: Int64, answeredAt: Int64, status: Int, arms: String?, comparisons: String?)] = []
    /// When the A/B experiment started taking traffic.
    public var experimentStartedAt: Int64? { didSet { changes.note() } }
    /// Nodes the kernel killed for running out of memory: (time, node).
    public var outOfMemoryKills: [(time: Int64, node: String)] {
        get { _outOfMemoryKills }
        _modify { changes.note(); yield &_outOfMemoryKills }
        set { changes.note(); _outOfMemoryKills = newValue }
    }
    private var _outOfMemoryKills: [(time: Int64, node: String)] = []
    /// Bumped on every change, so checkers that run after every event can skip the others.
    public var revision: UInt64 = 0 { didSet { changes.note() } }

    /// Noted on every change of a stored property, for change-driven checkers.
    public let changes: ChangeCounter
    public init(changes: ChangeCounter = ChangeCounter()) { self.changes = changes }
}

extension Simulation {
    public var serving: ServingObservations { component(ServingObservations.self) { ServingObservations(changes: checkerChanges) } }
}
