import SimKernel

/// What checkers and reports see of the feature store, drift monitoring and pipelines (scenario
/// 03). Services append; checkers read. Plain arrays in the order things happened.
public final class FeatureObservations {
    /// A dependency graph a validator judged: the features service's transformations of a view,
    /// or the pipeline service's DAG.
    public struct GraphVerdict {
        public var at: Int64
        public var service: String
        public var name: String
        public var edges: [String]
        public var accepted: Bool
    }
    public var graphVerdicts: [GraphVerdict] {
        get { _graphVerdicts }
        _modify { changes.note(); yield &_graphVerdicts }
        set { changes.note(); _graphVerdicts = newValue }
    }
    private var _graphVerdicts: [GraphVerdict] = []

    /// A pipeline task a worker started: (time, run, task). Upstream successes come from
    /// `taskSucceeded`, keyed `run/task`, written when the pipeline service committed them.
    public var taskStarts: [(at: Int64, run: Int64, task: String)] {
        get { _taskStarts }
        _modify { changes.note(); yield &_taskStarts }
        set { changes.note(); _taskStarts = newValue }
    }
    private var _taskStarts: [(at: Int64, run: Int64, task: String)] = []
    public var taskSucceeded: [String: Int64] {
        get { _taskSucceeded }
        _modify { changes.note(); yield &_taskSucceeded }
        set { changes.note(); _taskSucceeded = newValue }
    }
    private var _taskSucceeded: [String: Int64] = [:]
    /// Runs the pipeline accepted: run id -> (DAG edges, when it started, when it finished).
    public var runs: [Int64: (edges: [String], startedAt: Int64, finishedAt: Int64?)] {
        get { _runs }
        _modify { changes.note(); yield &_runs }
        set { changes.note(); _runs = newValue }
    }
    private var _runs: [Int64: (edges: [String], startedAt: Int64, finishedAt: Int64?)] = [:]

    /// An online read the features service answered: the version and event time of the value
    /// served (nil: NOT_FOUND), its TTL, and the serving node's clock at the read.
    public struct OnlineRead {
        /// When the read was answered (simulation time).
        public var at: Int64
        /// When the service asked Redis for this entity (simulation time): a read that overlaps a
        /// newer one may linearise before it, so only reads begun after another ended are ordered.
        public var started: Int64
        public var view: String
        public var entity: String
        public var version: Int64?
        public var eventTime: Int64?
        public var ttl: Int64
        public var readClock: Int64
        /// The values served (`name`, `value`), raw features then transformations.
        public var values: [(String, String)] = []
    }
    public var onlineReads: [OnlineRead] {
        get { _onlineReads }
        _modify { changes.note(); yield &_onlineReads }
        set { changes.note(); _onlineReads = newValue }
    }
    private var _onlineReads: [OnlineRead] = []
    /// Read-throughs from the offline store on online misses: in flight per process start and key
    /// (`node#epoch key`), and each start with how many were in flight for its key in its process,
    /// counting itself.
    public var readThroughsInFlight: [String: Int] {
        get { _readThroughsInFlight }
        _modify { changes.note(); yield &_readThroughsInFlight }
        set { changes.note(); _readThroughsInFlight = newValue }
    }
    private var _readThroughsInFlight: [String: Int] = [:]
    public var readThroughStarts: [(at: Int64, key: String, concurrent: Int)] {
        get { _readThroughStarts }
        _modify { changes.note(); yield &_readThroughStarts }
        set { changes.note(); _readThroughStarts = newValue }
    }
    private var _readThroughStarts: [(at: Int64, key: String, concurrent: Int)] = []
    /// The expiry instant (features node's clock) of every online value written, in write order.
    public var expiries: [Int64] {
        get { _expiries }
        _modify { changes.note(); yield &_expiries }
        set { changes.note(); _expiries = newValue }
    }
    private var _expiries: [Int64] = []

    /// A point-in-time join answered: for (view, entity, t), the row joined (its producer's id and
    /// its event time as the features service stored it), or none.
    public struct Join {
        /// When it was answered.
        public var at: Int64
        /// When the service began to read the rows (simulation time).
        public var started: Int64
        public var view: String
        public var entity: String
        public var asOf: Int64
        public var ttl: Int64
        /// The schema version the reader asked for (nil: the newest).
        public var version: Int?
        public var sourceID: String?
        public var storedEventTime: Int64?
        /// The values served, by name, in the reader's schema.
        public var values: [(String, String)] = []

        public init(at: Int64, started: Int64? = nil, view: String, entity: String, asOf: Int64, ttl: Int64, version: Int? = nil,
                    sourceID: String?, storedEventTime: Int64?, values: [(String, String)] = []) {
            self.at = at
            self.started = started ?? at
            self.view = view
            self.entity = entity
            self.asOf = asOf
            self.ttl = ttl
            self.version = version
            self.sourceID = sourceID
            self.storedEventTime = storedEventTime
            self.values = values
        }
    }
    public var joins: [Join] {
        get { _joins }
        _modify { changes.note(); yield &_joins }
        set { changes.note(); _joins = newValue }
    }
    private var _joins: [Join] = []
    /// Joins the service failed to answer because a row could not be read in the reader's schema
    /// (C6's symptom): when, and why.
    public var joinFailures: [(at: Int64, message: String)] {
        get { _joinFailures }
        _modify { changes.note(); yield &_joinFailures }
        set { changes.note(); _joinFailures = newValue }
    }
    private var _joinFailures: [(at: Int64, message: String)] = []
    /// A backfill the features service staged (committed): when, its id and view, and its rows
    /// (producer's id, entity, true UTC event time).
    public struct AcceptedBackfill {
        public var at: Int64
        public var id: Int64
        public var view: String
        public var rows: [(source: String, entity: String, eventTime: Int64)]
    }
    public var backfills: [AcceptedBackfill] {
        get { _backfills }
        _modify { changes.note(); yield &_backfills }
        set { changes.note(); _backfills = newValue }
    }
    private var _backfills: [AcceptedBackfill] = []
    /// Values of rows sent to views with schema versions, by source id: feature name -> value.
    public var producedNamed: [String: [String: String]] {
        get { _producedNamed }
        _modify { changes.note(); yield &_producedNamed }
        set { changes.note(); _producedNamed = newValue }
    }
    private var _producedNamed: [String: [String: String]] = [:]
    /// Rows the producers sent: source id -> (true UTC event time, entity, view).
    public var producedRows: [String: (eventTime: Int64, entity: String, view: String)] {
        get { _producedRows }
        _modify { changes.note(); yield &_producedRows }
        set { changes.note(); _producedRows = newValue }
    }
    private var _producedRows: [String: (eventTime: Int64, entity: String, view: String)] = [:]
    /// The values of the rows sent, keyed `view/entity/event time` (several rows may share one).
    public var producedValues: [String: [[String]]] {
        get { _producedValues }
        _modify { changes.note(); yield &_producedValues }
        set { changes.note(); _producedValues = newValue }
    }
    private var _producedValues: [String: [[String]]] = [:]

    /// A drift alert the subscriber received (deduplicated by event id at the receiver):
    /// (time, event id, view, group, window, drifted features).
    public struct DeliveredAlert {
        public var at: Int64
        public var eventID: String
        public var view: String
        public var group: String
        public var window: Int64
        public var features: [String]
        public init(at: Int64, eventID: String, view: String, group: String, window: Int64, features: [String]) {
            self.at = at
            self.eventID = eventID
            self.view = view
            self.group = group
            self.window = window
            self.features = features
        }
    }
    public var alerts: [DeliveredAlert] {
        get { _alerts }
        _modify { changes.note(); yield &_alerts }
        set { changes.note(); _alerts = newValue }
    }
    private var _alerts: [DeliveredAlert] = []
    /// Windows whose data the workload drew with (true) and without (false) a real shift, by view.
    public var shiftedWindows: [String: [Int64: Bool]] {
        get { _shiftedWindows }
        _modify { changes.note(); yield &_shiftedWindows }
        set { changes.note(); _shiftedWindows = newValue }
    }
    private var _shiftedWindows: [String: [Int64: Bool]] = [:]
    /// Every feature verdict monitoring stored, as stored (committed).
    public var driftVerdicts: [(view: String, window: Int64, verdict: DriftMonitor.FeatureVerdict)] {
        get { _driftVerdicts }
        _modify { changes.note(); yield &_driftVerdicts }
        set { changes.note(); _driftVerdicts = newValue }
    }
    private var _driftVerdicts: [(view: String, window: Int64, verdict: DriftMonitor.FeatureVerdict)] = []
    /// Drift checks the monitoring service completed: (time, view, window).
    public var checkedWindows: [(at: Int64, view: String, window: Int64)] {
        get { _checkedWindows }
        _modify { changes.note(); yield &_checkedWindows }
        set { changes.note(); _checkedWindows = newValue }
    }
    private var _checkedWindows: [(at: Int64, view: String, window: Int64)] = []
    /// Bumped on every change, so checkers run after every event can skip the others.
    public var revision: UInt64 = 0 { didSet { changes.note() } }

    /// Noted on every change of a stored property, for change-driven checkers.
    public let changes: ChangeCounter
    public init(changes: ChangeCounter = ChangeCounter()) { self.changes = changes }
}

extension Simulation {
    public var features: FeatureObservations { component(FeatureObservations.self) { FeatureObservations(changes: checkerChanges) } }
}

/// What checkers see of the streaming job (the pipeline service's click-event aggregation).
public final class StreamObservations {
    /// Events the ingest route accepted and Kafka acknowledged: id -> (window start, user, value text, time).
    public var accepted: [String: (window: Int64, user: String, value: String, at: Int64)] {
        get { _accepted }
        _modify { changes.note(); yield &_accepted }
        set { changes.note(); _accepted = newValue }
    }
    private var _accepted: [String: (window: Int64, user: String, value: String, at: Int64)] = [:]
    /// Records per partition of `events`, as produced.
    public var partitionLoads: [Int: Int] {
        get { _partitionLoads }
        _modify { changes.note(); yield &_partitionLoads }
        set { changes.note(); _partitionLoads = newValue }
    }
    private var _partitionLoads: [Int: Int] = [:]
    /// Dead letters Kafka acknowledged: id -> (reason, the job's newest event time when it gave up on it).
    public var deadLetters: [String: (reason: String, newestSeen: Int64)] {
        get { _deadLetters }
        _modify { changes.note(); yield &_deadLetters }
        set { changes.note(); _deadLetters = newValue }
    }
    private var _deadLetters: [String: (reason: String, newestSeen: Int64)] = [:]
    /// Records the job refused for their schema: id -> problem.
    public var schemaRefusals: [String: String] {
        get { _schemaRefusals }
        _modify { changes.note(); yield &_schemaRefusals }
        set { changes.note(); _schemaRefusals = newValue }
    }
    private var _schemaRefusals: [String: String] = [:]
    /// Schemas the pipeline registered, in order: (tenant, version, fields text).
    public var schemas: [(tenant: String, version: Int, fields: String)] {
        get { _schemas }
        _modify { changes.note(); yield &_schemas }
        set { changes.note(); _schemas = newValue }
    }
    private var _schemas: [(tenant: String, version: Int, fields: String)] = []
    /// Events the job judged failed (late, unprocessable, refused by the schema) in a batch it
    /// committed, in order: (id, reason). Each must have its dead letter.
    public var judgedFailed: [(id: String, reason: String, at: Int64)] {
        get { _judgedFailed }
        _modify { changes.note(); yield &_judgedFailed }
        set { changes.note(); _judgedFailed = newValue }
    }
    private var _judgedFailed: [(id: String, reason: String, at: Int64)] = []
    /// Ids of the events in batches the job committed (counted, judged failed, or skipped as
    /// already settled).
    public var processed: Set<String> {
        get { _processed }
        _modify { changes.note(); yield &_processed }
        set { changes.note(); _processed = newValue }
    }
    private var _processed: Set<String> = []
    /// The steps the job ran on its batches (for lineage).
    public var stepsRun: [String] {
        get { _stepsRun }
        _modify { changes.note(); yield &_stepsRun }
        set { changes.note(); _stepsRun = newValue }
    }
    private var _stepsRun: [String] = []
    /// Bumped on every change.
    public var revision: UInt64 = 0 { didSet { changes.note() } }
    /// Noted on every change of a stored property, for change-driven checkers.
    public let changes: ChangeCounter
    public init(changes: ChangeCounter = ChangeCounter()) { self.changes = changes }
}

extension Simulation {
    public var stream: StreamObservations { component(StreamObservations.self) { StreamObservations(changes: checkerChanges) } }
}
