import SimKernel

/// What the platform's services expose to checkers and reports: plain state, read-only for
/// everyone but the service that owns it.
public final class TrainingObservations {
    /// One parameter-server shard, for the current process epoch of its node.
    public final class Shard {
        public var parameters: [Float] = []
        /// The parameters replayed from the update log: start values, then every logged update.
        public var replay: [Float] = []
        public var version = 0
        public var pushesAccepted = 0
        public var updatesApplied = 0
        public var epoch: UInt64 = 0
        /// Pulls served: (worker, clock, slowest clock at the time).
        public var servedPulls: [(worker: Int, clock: Int, slowest: Int, at: Int64)] = []
        /// Staleness in versions of every applied update (tau = version at apply - version read).
        public var stalenessHistogram: [Int: Int] = [:]
        public var restoredFromStep: Int?
    }

    /// One iteration's gradient accumulation on a trainer: the fp16 micro-batch sums it added, and
    /// the mean gradient it applied (nil: skipped for an overflow).
    public struct Accumulation: Sendable {
        public var worker: Int
        public var clock: Int
        public var microSums: [[Float16]]
        public var items: Int
        public var scale: Float
        public var applied: [Float]?
    }

    public var shards: [Shard] {
        get { _shards }
        _modify { changes.note(); yield &_shards }
        set { changes.note(); _shards = newValue }
    }
    private var _shards: [Shard] = []
    public var accumulations: [Accumulation] {
        get { _accumulations }
        _modify { changes.note(); yield &_accumulations }
        set { changes.note(); _accumulations = newValue }
    }
    private var _accumulations: [Accumulation] = []
    /// Bumped by the parameter servers whenever a shard's observations change (a pull served, a
    /// push accepted, an update applied, a restart): checkers that run after every event skip
    /// their work while it stands still.
    public var revision: UInt64 = 0 { didSet { changes.note() } }
    /// Completed iterations per worker (from their durable clocks).
    public var workerClocks: [Int] {
        get { _workerClocks }
        _modify { changes.note(); yield &_workerClocks }
        set { changes.note(); _workerClocks = newValue }
    }
    private var _workerClocks: [Int] = []
    /// Evaluation losses reported by workers, in order.
    public var evalLosses: [(at: Int64, worker: Int, clock: Int, loss: Float)] {
        get { _evalLosses }
        _modify { changes.note(); yield &_evalLosses }
        set { changes.note(); _evalLosses = newValue }
    }
    private var _evalLosses: [(at: Int64, worker: Int, clock: Int, loss: Float)] = []
    /// Loss-scale history of each worker's mixed precision and its skipped steps.
    public var skippedSteps: [Int] {
        get { _skippedSteps }
        _modify { changes.note(); yield &_skippedSteps }
        set { changes.note(); _skippedSteps = newValue }
    }
    private var _skippedSteps: [Int] = []
    public var lossScales: [Float] {
        get { _lossScales }
        _modify { changes.note(); yield &_lossScales }
        set { changes.note(); _lossScales = newValue }
    }
    private var _lossScales: [Float] = []
    /// Job status, as the training service knows it.
    public var jobCompleted = false { didSet { changes.note() } }
    public var jobCompletedAt: Int64? { didSet { changes.note() } }
    public var finalAccuracy: Double? { didSet { changes.note() } }
    public var finalLoss: Float? { didSet { changes.note() } }
    public var initialLoss: Float? { didSet { changes.note() } }
    /// The registry version the finished job's model was registered as.
    public var registeredVersion: String? { didSet { changes.note() } }
    /// Checkpoints committed by storage, in order, and the storage node's name.
    public var checkpointCommits: [String] {
        get { _checkpointCommits }
        _modify { changes.note(); yield &_checkpointCommits }
        set { changes.note(); _checkpointCommits = newValue }
    }
    private var _checkpointCommits: [String] = []
    public var storageNode: String = "storage" { didSet { changes.note() } }
    /// Non-finite parameters ever seen on a shard (must stay 0).
    public var nonFiniteParameters = 0 { didSet { changes.note() } }
    /// The checkpoint barrier's arrivals at the all-reduce coordinator: (round, worker, arrived
    /// count after it), in order.
    public var barrierArrivals: [(round: Int, worker: Int, arrived: Int)] {
        get { _barrierArrivals }
        _modify { changes.note(); yield &_barrierArrivals }
        set { changes.note(); _barrierArrivals = newValue }
    }
    private var _barrierArrivals: [(round: Int, worker: Int, arrived: Int)] = []
    /// Each worker's exit from a checkpoint barrier: the round, how many had arrived, and the
    /// reduced mean held-out loss it read.
    public var barrierExits: [(round: Int, worker: Int, arrived: Int, meanLoss: Float)] {
        get { _barrierExits }
        _modify { changes.note(); yield &_barrierExits }
        set { changes.note(); _barrierExits = newValue }
    }
    private var _barrierExits: [(round: Int, worker: Int, arrived: Int, meanLoss: Float)] = []

    /// Noted on every change of a stored property, for change-driven checkers.
    public let changes: ChangeCounter
    public init(changes: ChangeCounter = ChangeCounter()) { self.changes = changes }
}

extension Simulation {
    /// The training platform's observations in this run.
    public var training: TrainingObservations { component(TrainingObservations.self) { TrainingObservations(changes: checkerChanges) } }
}
