import SimKernel
import SimServices

/// One invariant of a scenario (TigerBeetle's one `*_checker.zig` per invariant), registered by
/// name: a scenario's `checks:` lists them. A safety checker watches every event; a liveness
/// checker says whether the platform reached its goal (by heal + converge_within_s, or at the
/// horizon) and, if not, what is stuck.
public protocol Checker: AnyObject {
    /// The name a scenario file uses.
    static var name: String { get }
    /// Why this check can never fire in `scenario` (so listing it is a mistake), or nil.
    static func whyItCannotFire(in scenario: Scenario) -> String?
    init(scenario: Scenario)
    /// Installs the check on a built platform.
    func install(on platform: Platform)
    /// Liveness: whether the goal is reached (nil for a safety-only checker).
    func converged(_ simulation: Simulation) -> Bool?
    /// Liveness: what is stuck, when the goal is not reached.
    func livenessMessage(_ simulation: Simulation) -> String
    /// Nodes and actors a failure report of this checker should show.
    func involved(in outcome: Outcome, _ simulation: Simulation) -> [String]
    /// An invariant of the state the run left behind, judged once after it ended (nil: holds).
    func finalViolation(_ simulation: Simulation) -> String?
}

extension Checker {
    public func converged(_ simulation: Simulation) -> Bool? { nil }
    public func livenessMessage(_ simulation: Simulation) -> String { "" }
    public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { [] }
    public func finalViolation(_ simulation: Simulation) -> String? { nil }
}

/// The checks, by name.
public enum CheckerRegistry {
    public static let all: [any Checker.Type] = [
        DeadlockChecker.self, ParameterServerConsistencyChecker.self, StalenessChecker.self, CheckpointIntegrityChecker.self,
        ProgressChecker.self, RoutingChecker.self, ColdStartChecker.self, ServiceInvariantsChecker.self,
        ModelMemoryChecker.self, ServingChecker.self, ABAssignmentChecker.self, LatencyChecker.self, SchemaChecker.self,
        ServedWeightsChecker.self, ProductionVersionChecker.self, CacheEvictionChecker.self, ArtifactReadsChecker.self,
        BatchAnswersChecker.self, OutputTypeChecker.self, RateLimitChecker.self, CanaryRollbackChecker.self, AutoscalingChecker.self, ABVerdictChecker.self,
        DAGValidationChecker.self, DriftVerdictChecker.self, DriftAlarmsChecker.self, PointInTimeChecker.self, FeatureCacheChecker.self,
        FeatureTransformsChecker.self, PipelineOrderChecker.self, StreamCountsChecker.self, StreamLatenessChecker.self, DeadLetterChecker.self,
        StreamSchemaChecker.self, PartitionSkewChecker.self, LineageChecker.self, OnlineOfflineChecker.self, CacheStampedeChecker.self, ExpiryBurstChecker.self,
        BackfillChecker.self, SchemaEvolutionChecker.self, ArtifactBucketChecker.self, CredentialsChecker.self, TenantScopeChecker.self, KeyTimingChecker.self, GatewayIdentityChecker.self, SafeArtifactsChecker.self, ProtectedFieldsChecker.self, WebhookTargetsChecker.self, RegexWorkChecker.self, XMLEntitiesChecker.self, KeyRotationChecker.self, PeerTrustChecker.self, ClaimsPropagationChecker.self, SessionRefreshChecker.self, RunTenantScopeChecker.self, ModelLineageChecker.self, PreprocessingParityChecker.self,
        ReproducibilityChecker.self, EpochOrderChecker.self, LRScheduleChecker.self, MetricSeriesChecker.self, WriteOnceParamsChecker.self, BatchNormChecker.self,
        RunComparisonChecker.self, ComparisonQueriesChecker.self, RunSearchChecker.self, RunLineageChecker.self, MixedPrecisionChecker.self,
        RingRanksChecker.self, DataShardsChecker.self, AllReduceChecker.self, CheckpointBarrierChecker.self, TensorSplitChecker.self, ResumeStepChecker.self,
        CompressionAccuracyChecker.self, ElasticProgressChecker.self, MetricAggregatesChecker.self, ArtifactIntegrityChecker.self,
        AccumulationChecker.self,
    ]
    public static func type(named name: String) -> (any Checker.Type)? { all.first { $0.name == name } }
    public static var names: [String] { all.map { $0.name } }
}

/// Node names (`ps-1`, `worker-2`, `storage`...) mentioned in a message that are nodes of the run.
func nodesMentioned(in message: String, _ simulation: Simulation) -> [String] {
    var seen: [String] = []
    for word in message.split(whereSeparator: { !$0.isLetter && !$0.isNumber && $0 != "-" }).map(String.init)
    where simulation.node(named: word) != nil && !seen.contains(word) {
        seen.append(word)
    }
    return seen
}

/// When serving checks judge answers "past convergence" (`production-version`,
/// `canary-rollback`).
enum Convergence {
    /// How long after the heal, or after the last restart of any node when that came later, the
    /// replicas may still catch up: a restarted replica is ready after its readiness scan and loads
    /// (about 2 s), gets its partition once the dead member's poll interval ran out (Kafka's
    /// `maxPollInterval`, 5 s), then works off its backlog. 10 s covers the three.
    static let settle = 10 * Nanos.second
    /// How far back before a request a change may still be in flight to the replicas.
    static let window = 2 * Nanos.second
}

extension Simulation {
    /// When the platform may be expected to have caught up after its faults: `settle` after the
    /// heal, or after the last restart of any node when that came later (a crash's restart may
    /// come after the heal, and what depends on the node catches up after it).
    func settled(healAt: Int64, settle: Int64 = Convergence.settle) -> Int64 {
        Swift.max(healAt, nodes.map(\.restartedAt).max() ?? 0) + settle
    }
}
