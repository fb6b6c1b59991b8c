import SimKernel

/// What scenario 02's reproducible runs expose to checkers: the runs as submitted, what each
/// worker attempt computed step by step, and what the client read back from experiments.
public final class TrainingRunObservations {
    /// A run as the client submitted it (the seed, code and data it asked for).
    public struct Submitted: Sendable, Equatable {
        public var name: String
        public var run: Int64
        public var seed: UInt64
        public var code: String
        public var dataset: String
        public var spec: ReproducibleTraining.Spec
        public init(name: String, run: Int64, seed: UInt64, code: String, dataset: String, spec: ReproducibleTraining.Spec) {
            self.name = name
            self.run = run
            self.seed = seed
            self.code = code
            self.dataset = dataset
            self.spec = spec
        }
    }
    /// One optimizer step of one attempt at a run.
    public struct Step: Sendable, Equatable {
        public var name: String
        public var attempt: Int
        public var record: ReproducibleTraining.Step
    }
    /// One epoch's data order of one attempt (indices into the training rows).
    public struct EpochOrder: Sendable, Equatable {
        public var name: String
        public var attempt: Int
        public var epoch: Int
        public var order: [Int]
        public var rows: Int
    }
    /// A summary of the client's counter series, with the values it logged (acknowledged).
    public struct SummaryRead: Sendable, Equatable {
        public var run: Int64
        public var key: String
        public var logged: [Double]
        public var status: Int
        public var count: Int64?
        public var sum: Double?
        public init(run: Int64, key: String, logged: [Double], status: Int, count: Int64?, sum: Double?) {
            self.run = run
            self.key = key
            self.logged = logged
            self.status = status
            self.count = count
            self.sum = sum
        }
    }
    /// A read of an artifact the client uploaded (committed, or abandoned after half its parts).
    public struct ArtifactRead: Sendable, Equatable {
        public var name: String
        public var committed: Bool
        public var declaredSize: Int
        public var declaredSHA256: String
        public var status: Int
        public var size: Int?
        public var sha256: String?
        public init(name: String, committed: Bool, declaredSize: Int, declaredSHA256: String, status: Int, size: Int?, sha256: String?) {
            self.name = name
            self.committed = committed
            self.declaredSize = declaredSize
            self.declaredSHA256 = declaredSHA256
            self.status = status
            self.size = size
            self.sha256 = sha256
        }
    }
    public struct Evaluation: Sendable, Equatable {
        public var name: String
        public var attempt: Int
        public var evaluation: ReproducibleTraining.Evaluation
    }
    /// A point of a metric series as read back through `GET experiments/metrics`.
    public struct ReadPoint: Sendable, Equatable {
        public var key: String
        public var step: Int64
        public var value: Double
        public var timestamp: String
        public init(key: String, step: Int64, value: Double, timestamp: String) {
            self.key = key
            self.step = step
            self.value = value
            self.timestamp = timestamp
        }
    }
    /// What the client read back of a finished run.
    public struct ReadBack: Sendable, Equatable {
        public var name: String
        public var points: [ReadPoint]
        public var params: [String: String]
        /// The parameters as read right after the run was created.
        public var paramsAtStart: [String: String]
        /// The status an attempt to overwrite the `lr` parameter was answered with.
        public var overwriteStatus: Int
        public init(name: String, points: [ReadPoint], params: [String: String], paramsAtStart: [String: String], overwriteStatus: Int) {
            self.name = name
            self.points = points
            self.params = params
            self.paramsAtStart = paramsAtStart
            self.overwriteStatus = overwriteStatus
        }
    }

    public var submitted: [Submitted] {
        get { _submitted }
        _modify { changes.note(); yield &_submitted }
        set { changes.note(); _submitted = newValue }
    }
    private var _submitted: [Submitted] = []
    /// Runs the platform refused (name, status), e.g. one on an unknown dataset digest.
    public var refused: [(name: String, status: Int)] {
        get { _refused }
        _modify { changes.note(); yield &_refused }
        set { changes.note(); _refused = newValue }
    }
    private var _refused: [(name: String, status: Int)] = []
    /// Runs whose submission must be refused (unknown dataset), by name.
    public var mustBeRefused: [String] {
        get { _mustBeRefused }
        _modify { changes.note(); yield &_mustBeRefused }
        set { changes.note(); _mustBeRefused = newValue }
    }
    private var _mustBeRefused: [String] = []
    public var steps: [Step] {
        get { _steps }
        _modify { changes.note(); yield &_steps }
        set { changes.note(); _steps = newValue }
    }
    private var _steps: [Step] = []
    public var orders: [EpochOrder] {
        get { _orders }
        _modify { changes.note(); yield &_orders }
        set { changes.note(); _orders = newValue }
    }
    private var _orders: [EpochOrder] = []
    public var evaluations: [Evaluation] {
        get { _evaluations }
        _modify { changes.note(); yield &_evaluations }
        set { changes.note(); _evaluations = newValue }
    }
    private var _evaluations: [Evaluation] = []
    /// Attempts started per run name (a run is trained again after a worker crash).
    public var attempts: [String: Int] {
        get { _attempts }
        _modify { changes.note(); yield &_attempts }
        set { changes.note(); _attempts = newValue }
    }
    private var _attempts: [String: Int] = [:]
    /// Points each run's worker logged and experiments acknowledged: "key@step", in order, unique.
    public var acknowledged: [String: [String]] {
        get { _acknowledged }
        _modify { changes.note(); yield &_acknowledged }
        set { changes.note(); _acknowledged = newValue }
    }
    private var _acknowledged: [String: [String]] = [:]
    /// Runs a worker finished: name, final validation AUC, final state hash.
    public var finished: [(name: String, auc: Double, stateHash: String)] {
        get { _finished }
        _modify { changes.note(); yield &_finished }
        set { changes.note(); _finished = newValue }
    }
    private var _finished: [(name: String, auc: Double, stateHash: String)] = []
    public var readBacks: [ReadBack] {
        get { _readBacks }
        _modify { changes.note(); yield &_readBacks }
        set { changes.note(); _readBacks = newValue }
    }
    private var _readBacks: [ReadBack] = []
    /// Tags the client set (answered 200): run id -> key -> value.
    public var tags: [Int64: [String: String]] {
        get { _tags }
        _modify { changes.note(); yield &_tags }
        set { changes.note(); _tags = newValue }
    }
    private var _tags: [Int64: [String: String]] = [:]
    /// What `GET experiments/compare` answered for the training runs' experiment (metric `val_auc`,
    /// goal max), once every run was read back.
    public var comparison: (best: Int64, ranking: String)? { didSet { changes.note() } }
    /// Searches of the training runs' experiment: the filter, the status, the runs returned.
    public var searches: [(filter: String, status: Int, runs: [Int64])] {
        get { _searches }
        _modify { changes.note(); yield &_searches }
        set { changes.note(); _searches = newValue }
    }
    private var _searches: [(filter: String, status: Int, runs: [Int64])] = []
    /// The scratch experiment's runs and parents (0: none) as listed at the end, after forks of
    /// its runs raced their deletion.
    public var lineage: [(run: Int64, parent: Int64)]? { didSet { changes.note() } }
    /// The model version the client registered from a finished run (the run, the dataset digest
    /// it stored, the code) and the lineage the registry answered for it (`GET registry/lineage`).
    /// `status` is the lineage read's status (0: no answer), `answered` its body when 200.
    public var modelLineage: (run: Int64, dataset: String, code: String, version: Int64, status: Int, answered: [String: String])? { didSet { changes.note() } }
    /// When the client finished all it does (read-backs, comparison, searches, scratch runs).
    public var clientFinishedAt: Int64? { didSet { changes.note() } }
    /// The client's bookkeeping (`summaries`, `artifactReads`), and when it was done.
    public var summaries: [SummaryRead] {
        get { _summaries }
        _modify { changes.note(); yield &_summaries }
        set { changes.note(); _summaries = newValue }
    }
    private var _summaries: [SummaryRead] = []
    public var artifactReads: [ArtifactRead] {
        get { _artifactReads }
        _modify { changes.note(); yield &_artifactReads }
        set { changes.note(); _artifactReads = newValue }
    }
    private var _artifactReads: [ArtifactRead] = []
    public var bookkeepingFinishedAt: Int64? { didSet { changes.note() } }
    /// Bumped at every change, so checkers run only when something changed.
    public var revision: UInt64 = 0 { didSet { changes.note() } }

    /// Noted on every change of a stored property, for change-driven checkers.
    public let changes: ChangeCounter
    public init(changes: ChangeCounter = ChangeCounter()) { self.changes = changes }

    public func submittedRun(named name: String) -> Submitted? { submitted.first { $0.name == name } }
}

extension Simulation {
    /// Scenario 02's training runs in this run.
    public var trainingRuns: TrainingRunObservations { component(TrainingRunObservations.self) { TrainingRunObservations(changes: checkerChanges) } }
}
