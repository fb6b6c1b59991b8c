import SimKernel

/// An elastic data-parallel training job (scenario 07): its workers find each other through a
/// rendezvous in Consul's KV store, all-reduce their gradients around a ring, save sharded
/// checkpoints behind a barrier, and restart from the newest valid checkpoint whenever a worker
/// joins, leaves or fails (torchelastic's model).
public struct ElasticJobConfiguration: Sendable, Equatable {
    public var name = "elastic-job"
    public var datasetSeed: UInt64 = 7
    public var features = 8
    /// The job's seed: the sampler's permutations.
    public var seed: UInt64 = 42
    public var steps = 40
    /// Rows per rank per step.
    public var batch = 16
    public var learningRate: Float = 0.5
    /// Workers below which nobody trains (they wait for more to join).
    public var minWorkers = 2
    /// A checkpoint every this many steps (and at the end).
    public var checkpointInterval = 5
    /// Gradient coordinates below this magnitude are held back (error feedback) or dropped (A7).
    public var compressionThreshold: Float = 0.4
    public var stepTimeMs = 100
    /// The virtual time at which the first workers join (they start together, as a job launcher starts them).
    public var startAtMs = 3000
    /// A worker that joins later, and when.
    public var lateJoiner: String?
    public var joinAtMs = 6000
    /// A worker that leaves on its own (scaled down) once it completed this many steps.
    public var leaver: String?
    public var leaveAtStep = 25
    /// How long a worker waits for a ring neighbour before it checks the membership.
    public var exchangeTimeoutMs = 1500
    /// How long rank 0 waits at a checkpoint barrier for every rank's shard.
    public var barrierTimeoutMs = 3000
    /// How long a new generation is left to settle before its workers train.
    public var settleMs = 300

    public init() {}

    /// The model's layers in its flat parameter vector: the weights, then the bias.
    public var layers: [Int] { [features, 1] }
    public var parameterCount: Int { features + 1 }
}

/// What the elastic job's workers did, for checkers: ranks claimed, rows sampled, gradients
/// contributed and reduced, checkpoints written and resumed from, and the job's end.
public final class ElasticTrainingObservations {
    /// A worker holding `rank` of `world` in `generation`: from its join, or when it adopted a newer generation.
    public struct Claim: Sendable, Equatable {
        public var at: Int64
        public var worker: String
        public var generation: Int
        public var rank: Int
        public var world: Int
        public var fromJoin: Bool
    }
    public struct Batch: Sendable, Equatable {
        public var worker: String
        public var generation: Int
        public var step: Int
        public var epoch: Int
        public var rows: [Int]
    }
    /// One rank's part in one step's all-reduce: what it sent, and (once the ring completed) the mean it applied.
    public struct Reduction: Sendable, Equatable {
        public var worker: String
        public var generation: Int
        public var step: Int
        public var rank: Int
        public var world: Int
        public var contribution: [Float]
        public var reduced: [Float]?
    }
    /// A manifest rank 0 wrote: the step of each shard it names.
    public struct Manifest: Sendable, Equatable {
        /// When rank 0 sent it to the store, and when the store's acknowledgement came (nil: never
        /// acknowledged, it may or may not be stored).
        public var sentAt: Int64
        public var committedAt: Int64?
        public var key: String
        public var step: Int
        public var generation: Int
        public var world: Int
        public var shardSteps: [Int]
        /// Every rank's shard present, all of this step.
        public var complete: Bool { shardSteps.count == world && shardSteps.allSatisfy { $0 == step } }
    }
    /// A restart of training in a generation: where it resumed from.
    public struct Resume: Sendable, Equatable {
        public var worker: String
        public var generation: Int
        public var listedAt: Int64
        public var answeredAt: Int64
        /// Whether this worker chose the checkpoint (the others of its generation took its choice).
        public var decided: Bool
        /// The step resumed from (0: from scratch), and the generation whose checkpoint it loaded.
        public var step: Int
        public var checkpointGeneration: Int?
        public var parameters: [Float]
    }

    public var claims: [Claim] {
        get { _claims }
        _modify { changes.note(); yield &_claims }
        set { changes.note(); _claims = newValue }
    }
    private var _claims: [Claim] = []
    public var batches: [Batch] {
        get { _batches }
        _modify { changes.note(); yield &_batches }
        set { changes.note(); _batches = newValue }
    }
    private var _batches: [Batch] = []
    public var reductions: [Reduction] {
        get { _reductions }
        _modify { changes.note(); yield &_reductions }
        set { changes.note(); _reductions = newValue }
    }
    private var _reductions: [Reduction] = []
    public var manifests: [Manifest] {
        get { _manifests }
        _modify { changes.note(); yield &_manifests }
        set { changes.note(); _manifests = newValue }
    }
    private var _manifests: [Manifest] = []
    public var resumes: [Resume] {
        get { _resumes }
        _modify { changes.note(); yield &_resumes }
        set { changes.note(); _resumes = newValue }
    }
    private var _resumes: [Resume] = []
    /// The full parameters each checkpoint was cut from, by "generation/step" (rank 0's copy).
    public var checkpointed: [String: [Float]] {
        get { _checkpointed }
        _modify { changes.note(); yield &_checkpointed }
        set { changes.note(); _checkpointed = newValue }
    }
    private var _checkpointed: [String: [Float]] = [:]
    /// When the job completed, and the test accuracy of its final parameters.
    public var completedAt: Int64? { didSet { changes.note() } }
    public var finalAccuracy: Double? { didSet { changes.note() } }
    public var finalStep = 0 { didSet { changes.note() } }
    /// Bumped on every change, so checkers skip unchanged state.
    public var revision = 0 { didSet { changes.note() } }
    /// Noted on every change of a stored property, for change-driven checkers.
    public let changes: ChangeCounter
    public init(changes: ChangeCounter = ChangeCounter()) { self.changes = changes }
}

extension Simulation {
    /// Scenario 07's observations.
    public var elasticTraining: ElasticTrainingObservations { component(ElasticTrainingObservations.self) { ElasticTrainingObservations(changes: checkerChanges) } }
}
