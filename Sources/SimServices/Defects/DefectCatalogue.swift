/// The brief's bug IDs the simulator reproduces. Each is a real alternative code path beside the
/// correct one in service code, switched on per run.
public enum DefectID: String, CaseIterable, Codable, Sendable, Comparable {
    case A1, A2, A9, F10, M7
    case B1, B2, B3, B4, B5, B6, B7, B8, B9, B10, H1, H3, H4, H5, H6, H8, M1
    case L1, L2, L3, L4, L5, L6, L7, L8, L9, L10, L11, L12, L13, L14, L15
    case C2, C3, C4, C8, D8, H2, M4
    case D1, D2, D3, D4, D5, D6, D7, D9, D10, C1, C7, H7
    case C5, C6
    case I9
    case M5, M9, E3, M6, E1, M3
    case E2, E4, E6, E8, M8
    public static func < (a: DefectID, b: DefectID) -> Bool { a.rawValue < b.rawValue }
}

/// One catalogue entry.
public struct DefectEntry: Sendable {
    public var id: DefectID
    public var title: String
    public var services: [String]
    public var symptom: String
    public var scenario: String
    /// The checker that catches it.
    public var checker: String
    /// The workload that drives its code path (`training_job`, `first_requests`).
    public var workload: String {
        switch id {
        case .A1, .A2, .A9, .F10, .M7: return "training_job"
        case .B1, .H1, .B4, .B6, .B10, .B9, .H3, .H4, .H5, .H6, .H8, .M1: return "model_deployments"
        case .B2, .B3, .B5, .B7, .B8: return "ab_test"
        case .C2, .C3, .C4, .C8, .D8, .H2, .M4, .D1, .D2, .D3, .D4, .D5, .D6, .D7, .D9, .D10, .C1, .C7, .H7, .C5, .C6: return "feature_drift"
        case .I9: return "security_probe"
        case .M5, .M9, .E3, .M6, .E1, .M3, .E2, .E4, .E6, .E8, .M8: return "training_runs"
        default: return "first_requests"
        }
    }
}

/// The defect catalogue (grows with the brief's IDs issue by issue).
public enum DefectCatalogue {
    public static let entries: [DefectEntry] = [
        DefectEntry(id: .A1, title: "parameter-server race: unlocked read-modify-write of a shard loses updates",
                    services: ["parameter_server"],
                    symptom: "a shard's parameters differ from the replay of its update log; applied updates vanish",
                    scenario: "05_distributed_training_hang", checker: "ps-consistency"),
        DefectEntry(id: .A2, title: "lock-ordering deadlock: odd workers take the shard locks of a snapshot in reverse order",
                    services: ["trainer", "parameter_server"],
                    symptom: "training hangs at a checkpoint boundary; two workers each hold one shard lock and wait for the other",
                    scenario: "05_distributed_training_hang", checker: "deadlock"),
        DefectEntry(id: .A9, title: "unbounded staleness: the parameter server serves pulls without the SSP bound",
                    services: ["parameter_server"],
                    symptom: "fast workers read parameters more than s clocks ahead of the slowest; loss oscillates",
                    scenario: "05_distributed_training_hang", checker: "staleness"),
        DefectEntry(id: .F10, title: "lock ordering: a worker's progress report takes its worker lock before the job lock, and the scheduler's sweep holds the job's database row while it takes the worker locks",
                    services: ["trainer", "scheduler"],
                    symptom: "the scheduler's health sweep and a worker's progress report wait for each other forever (through the job and worker locks, or a worker lock and the job's database row)",
                    scenario: "05_distributed_training_hang", checker: "deadlock"),
        DefectEntry(id: .M7, title: "checkpoint corruption on concurrent saves: every trainer saves the checkpoint, through one shared staging file, unverified",
                    services: ["trainer", "storage"],
                    symptom: "a committed checkpoint fails its checksum (interleaved chunks of two writers); resume falls back further",
                    scenario: "05_distributed_training_hang", checker: "checkpoint-integrity"),
        DefectEntry(id: .B1, title: "model loading leaks memory: an evicted model version stays referenced (kept for a quick rollback), so its memory is never returned",
                    services: ["inference"],
                    symptom: "a replica's resident memory grows by a model's size with each deployment past the cache's size, until the out-of-memory kill",
                    scenario: "01_model_memory_crisis", checker: "model-memory"),
        DefectEntry(id: .B3, title: "A/B split by whole percentages with an inclusive bound: buckets on a cumulative boundary go to the earlier arm",
                    services: ["inference"],
                    symptom: "users served by an arm their bucket does not fall in; a 50/25/25 split drifts to 51/25/24, toward control",
                    scenario: "04_ab_test_disaster", checker: "ab-assignment"),
        DefectEntry(id: .B5, title: "no warm-up: a deployed version takes traffic before its first (cold) prediction has built its compute graph",
                    services: ["inference"],
                    symptom: "a version's first request on a replica computes for orders of magnitude longer than steady state",
                    scenario: "04_ab_test_disaster", checker: "latency"),
        DefectEntry(id: .B7, title: "schema drift: requests are validated against the model's first signature, and features a later version added are defaulted to 0",
                    services: ["inference"],
                    symptom: "a request missing a feature of the serving version's signature is accepted (and predicted with a default)",
                    scenario: "04_ab_test_disaster", checker: "schema"),
        DefectEntry(id: .H1, title: "the model cache evicts a model in use: eviction takes the oldest loaded version, pinned by requests or not",
                    services: ["inference"],
                    symptom: "a request fails mid-prediction: its model version was unloaded under it",
                    scenario: "01_model_memory_crisis", checker: "serving"),
        DefectEntry(id: .B2, title: "batching timeout too short: a batch whose wait ends before it is full is dropped instead of computed",
                    services: ["inference"],
                    symptom: "a request admitted to a batch never gets an answer (its caller times out)",
                    scenario: "04_ab_test_disaster", checker: "batch-answers"),
        DefectEntry(id: .B8, title: "post-processing type mismatch: a class label is formatted as the float it was computed from (1.0, not 1)",
                    services: ["inference"],
                    symptom: "a label's type differs from the model's declared output (a float where the signature says an integer label)",
                    scenario: "04_ab_test_disaster", checker: "output-type"),
        DefectEntry(id: .B4, title: "canary rollback race: a canary step writes its percentage unconditionally (an upsert), bringing back a canary rolled back meanwhile",
                    services: ["registry", "inference"],
                    symptom: "after a canary's rollback completed, requests are still served by the canary version: both versions serve",
                    scenario: "01_model_memory_crisis", checker: "canary-rollback"),
        DefectEntry(id: .B6, title: "prediction cache key without the version: a cached result of one version is returned for another (wrong fallback)",
                    services: ["inference", "redis"],
                    symptom: "a prediction whose probability is not its version's weights applied to its input (computed by another version)",
                    scenario: "01_model_memory_crisis", checker: "served-weights"),
        DefectEntry(id: .B9, title: "concurrent model swap race: a prediction reads the model's Production slot after computing, swapped in place by a deployment",
                    services: ["inference"],
                    symptom: "a prediction admitted on one version is computed with another version's weights",
                    scenario: "01_model_memory_crisis", checker: "served-weights"),
        DefectEntry(id: .B10, title: "autoscaling acts on stale metrics: the autoscaler keeps the replicas' samples it read for ten seconds and decides on them whatever their age",
                    services: ["scheduler", "inference", "redis"],
                    symptom: "inference is scaled on a replica's metrics older than their three-second window",
                    scenario: "01_model_memory_crisis", checker: "autoscaling"),
        DefectEntry(id: .H3, title: "prediction cache key hash collision: the inputs hashed into 16 bits by their sum",
                    services: ["inference", "redis"],
                    symptom: "a prediction returns the result cached for another input with the same hash",
                    scenario: "01_model_memory_crisis", checker: "served-weights"),
        DefectEntry(id: .H4, title: "cache stampede on deploy: the Production pointer moves before the version is loaded, and every request that misses reads the artifact itself (no single flight)",
                    services: ["inference", "minio"],
                    symptom: "several reads of one version's artifact at once on a replica (reads >> distinct versions)",
                    scenario: "01_model_memory_crisis", checker: "artifact-reads"),
        DefectEntry(id: .H5, title: "replicas disagree on the cached model: a replica keeps its Production pointer while the version it names is still cached",
                    services: ["inference"],
                    symptom: "past convergence, a replica serves a version that is no longer in Production",
                    scenario: "01_model_memory_crisis", checker: "production-version"),
        DefectEntry(id: .H6, title: "cache-aside keeps stale data for ever: predictions without a version are cached under the alias `production`, with no time to live",
                    services: ["inference", "redis"],
                    symptom: "after a promotion, predictions computed by the old Production version are served for ever",
                    scenario: "01_model_memory_crisis", checker: "served-weights"),
        DefectEntry(id: .H8, title: "the model cache evicts the frequently used model: first in, first out instead of least recently used",
                    services: ["inference"],
                    symptom: "an eviction takes a version used more recently than another cached one; the hit rate falls below LRU's on the same trace",
                    scenario: "01_model_memory_crisis", checker: "cache-eviction"),
        DefectEntry(id: .M1, title: "rollback loads the wrong version's weights: a rollback reloads the old version from the artifact of the version it replaces",
                    services: ["inference", "registry"],
                    symptom: "after a rollback, the Production version serves the rolled-back version's weights (served weights != its artifact)",
                    scenario: "01_model_memory_crisis", checker: "served-weights"),
        DefectEntry(id: .L1, title: "circular start-up dependency: models waits for registry, which waits for models",
                    services: ["models", "registry"], symptom: "both wait forever at start-up (a start-up deadlock)",
                    scenario: "00_cold_start", checker: "cold-start"),
        DefectEntry(id: .L2, title: "a missing optional capability (no accelerator) crashes inference's start-up instead of falling back to the CPU",
                    services: ["inference"], symptom: "inference crash-loops at start-up", scenario: "00_cold_start", checker: "cold-start"),
        DefectEntry(id: .L3, title: "a migration references a table that a later migration creates (registry)",
                    services: ["registry"], symptom: "registry's migration 1 fails with 'no such table' on every start", scenario: "00_cold_start", checker: "cold-start"),
        DefectEntry(id: .L4, title: "topics are not created while broker auto-creation is off",
                    services: ["training", "workers"], symptom: "producing fails with UNKNOWN_TOPIC_OR_PARTITION", scenario: "00_cold_start", checker: "cold-start"),
        DefectEntry(id: .L5, title: "registry registers (and passes its health check) before its dependencies are ready",
                    services: ["registry", "gateway"], symptom: "requests are routed to an instance that cannot serve yet", scenario: "00_cold_start", checker: "routing"),
        DefectEntry(id: .L6, title: "Consul registration wrong: experiments under a wrong name, monitoring without a health check",
                    services: ["experiments", "monitoring"], symptom: "experiments is never found; monitoring counts as passing whatever its state",
                    scenario: "00_cold_start", checker: "routing"),
        DefectEntry(id: .L7, title: "the features service's Redis client runs in cluster mode against a standalone server",
                    services: ["features"], symptom: "ERR This instance has cluster support disabled", scenario: "00_cold_start", checker: "cold-start"),
        DefectEntry(id: .L8, title: "the search index mapping for models is never created",
                    services: ["models"], symptom: "index_not_found_exception when mirroring a model", scenario: "00_cold_start", checker: "cold-start"),
        DefectEntry(id: .L9, title: "bucket creation fails (an invalid bucket name) and the failure is ignored",
                    services: ["registry", "inference", "storage"], symptom: "NoSuchBucket later, on the first upload", scenario: "00_cold_start", checker: "cold-start"),
        DefectEntry(id: .L10, title: "the workers' broker address uses the wrong protocol (amqp:// for Kafka)",
                    services: ["workers"], symptom: "workers crash-loop at start-up", scenario: "00_cold_start", checker: "cold-start"),
        DefectEntry(id: .L11, title: "the gateway's CORS rule rejects the admin dashboard's origin",
                    services: ["gateway", "admin"], symptom: "HTTP 403 for every admin request", scenario: "00_cold_start", checker: "cold-start"),
        DefectEntry(id: .L12, title: "monitoring's logging configuration names a handler that does not exist",
                    services: ["monitoring"], symptom: "monitoring crash-loops at start-up", scenario: "00_cold_start", checker: "cold-start"),
        DefectEntry(id: .L13, title: "pipeline's schema validation has no visited set and loops on its self-referencing request schema",
                    services: ["pipeline"], symptom: "pipeline never finishes starting", scenario: "00_cold_start", checker: "cold-start"),
        DefectEntry(id: .L14, title: "the feature store's bootstrap needs the training service and asks once, without waiting",
                    services: ["features", "training"], symptom: "when features starts first, it stays unbootstrapped (503)", scenario: "00_cold_start", checker: "cold-start"),
        DefectEntry(id: .L15, title: "worker registration needs the scheduler and asks once, without waiting",
                    services: ["workers", "scheduler"], symptom: "when workers start first, tasks are never consumed", scenario: "00_cold_start", checker: "cold-start"),
        DefectEntry(id: .C2, title: "point-in-time join timezone bug: a row's local wall-clock time is stored as if it were UTC (the zone offset dropped)",
                    services: ["features"],
                    symptom: "a point-in-time join returns a row whose true event time is after the join's instant (a row from UTC-5 lands five hours early)",
                    scenario: "03_feature_drift_storm", checker: "point-in-time"),
        DefectEntry(id: .C3, title: "drift threshold compared as a float distance: a p-value \"drifts\" when above 0.05, and `>` stands for `>=`",
                    services: ["monitoring"],
                    symptom: "a stored verdict disagrees with the exact comparison of its own score and threshold; alerts fire on windows with no drift",
                    scenario: "03_feature_drift_storm", checker: "drift-verdict"),
        DefectEntry(id: .C4, title: "transformations computed in the order they were declared, not in dependency order",
                    services: ["features"],
                    symptom: "a dependent transformation sees its input missing (computed later): the served value differs from the transformation of the row",
                    scenario: "03_feature_drift_storm", checker: "feature-transforms"),
        DefectEntry(id: .C8, title: "transformation dependency check with one visited set: a node seen before is skipped, so a back edge (A -> B -> C -> A) is never a cycle",
                    services: ["features"],
                    symptom: "the validator's verdict differs from Kahn's topological sort; materialization of the view never finishes",
                    scenario: "03_feature_drift_storm", checker: "dag-validation"),
        DefectEntry(id: .D8, title: "pipeline DAG accepted without any cycle check",
                    services: ["pipeline"],
                    symptom: "a cyclic DAG is accepted and its run never ends (no task of the cycle is ever ready)",
                    scenario: "03_feature_drift_storm", checker: "dag-validation"),
        DefectEntry(id: .H2, title: "feature cache written with a plain SET: a late, older materialization overwrites a newer value",
                    services: ["features"],
                    symptom: "an online value's version goes back (older than one already served) until it is rewritten",
                    scenario: "03_feature_drift_storm", checker: "feature-cache"),
        DefectEntry(id: .M4, title: "correlated features counted as independent: no multiple-testing correction, and any one drifted feature alerts on its own",
                    services: ["monitoring"],
                    symptom: "windows without drift alert far above alpha, and one cohort shift raises one alert per correlated feature",
                    scenario: "03_feature_drift_storm", checker: "drift-alarms"),
        DefectEntry(id: .C1, title: "online and offline stores diverge: materialization packs values into a float32 vector, the offline store keeps them exact",
                    services: ["features"], symptom: "an online value differs from the offline row it was materialized from (5.23 served as 5.230000019073486)",
                    scenario: "03_feature_drift_storm", checker: "online-offline"),
        DefectEntry(id: .C7, title: "cache stampede: every online miss reads the offline store, with no single flight per key",
                    services: ["features"], symptom: "N concurrent misses of one popular key make N offline reads",
                    scenario: "03_feature_drift_storm", checker: "cache-stampede"),
        DefectEntry(id: .C5, title: "backfill race: each backfill loader marks the backfill complete when its own parts are loaded, while the others still load",
                    services: ["features"], symptom: "a point-in-time join answered over a partial backfill: a row the backfill holds is missing (NOT_FOUND or an older row) though the view said complete",
                    scenario: "03_feature_drift_storm", checker: "backfill"),
        DefectEntry(id: .C6, title: "schema evolution breaks backward compatibility: rows are decoded positionally against the reader's schema version",
                    services: ["features"], symptom: "a reader pinned to v1 fails on a row written under v2 (one more feature), and a v2 reader on a v1 row",
                    scenario: "03_feature_drift_storm", checker: "schema-evolution"),
        DefectEntry(id: .I9, title: "path traversal in artifact download: the key is resolved as a path under the storage root, so `..` leaves the artifacts bucket",
                    services: ["storage"], symptom: "a download answered with an object of another bucket (`../checkpoints/...` reads a checkpoint)",
                    scenario: "06_security_probe", checker: "artifact-bucket"),
        DefectEntry(id: .M5, title: "training data not shuffled between epochs: the order is drawn from the seed alone, not from (seed, epoch)",
                    services: ["workers"], symptom: "every epoch sees the same order (epoch k+1's permutation equals epoch k's)",
                    scenario: "02_training_reproducibility", checker: "epoch-order"),
        DefectEntry(id: .M9, title: "the augmenter takes the job's seed and ignores it: its jitter is drawn from the worker process's own generator",
                    services: ["workers"], symptom: "same seed, code and data, different parameter hash from the first step",
                    scenario: "02_training_reproducibility", checker: "reproducibility"),
        DefectEntry(id: .E3, title: "seed not propagated to sub-processes: the experiment manager keeps the seed, the job handed to the workers has none",
                    services: ["training", "workers"], symptom: "worker draws (initialiser, order, augmentation, dropout) differ across same-seed runs",
                    scenario: "02_training_reproducibility", checker: "reproducibility"),
        DefectEntry(id: .M6, title: "LR scheduler off by one step: SGDR's warm restarts come at period + 1",
                    services: ["workers"], symptom: "the logged lr trace leaves the schedule at the first period boundary (eta_min where the restart's base lr is due)",
                    scenario: "02_training_reproducibility", checker: "lr-schedule"),
        DefectEntry(id: .E1, title: "metric logging race: a run's points kept in one blob, read and written back in two transactions",
                    services: ["experiments"], symptom: "fewer points read back than experiments acknowledged (concurrent logging requests overwrite each other)",
                    scenario: "02_training_reproducibility", checker: "metric-series"),
        DefectEntry(id: .M3, title: "batch-norm statistics leak between train and eval mode: evaluation normalises with the batch's statistics and moves the running ones",
                    services: ["workers"], symptom: "running statistics change in evaluation; a row's prediction depends on its batch neighbours",
                    scenario: "02_training_reproducibility", checker: "batch-norm"),
        DefectEntry(id: .E2, title: "hyperparameter comparison by float equality: the best run is found by comparing single-precision copies of the values with the exact best",
                    services: ["experiments"], symptom: "the comparison names a best run that an exact comparison of the read-back metrics does not (the first run, when the best value has no exact Float)",
                    scenario: "02_training_reproducibility", checker: "run-comparison"),
        DefectEntry(id: .E4, title: "fork keeps a dangling parent after deletion: the parent is read in one transaction and the fork written in another",
                    services: ["experiments"], symptom: "a run whose parent does not exist (a fork raced the deletion of its parent)",
                    scenario: "02_training_reproducibility", checker: "run-lineage"),
        DefectEntry(id: .E6, title: "comparison query is N+1: each run's metrics and parameters read by queries of their own",
                    services: ["experiments"], symptom: "the statements a comparison runs grow with the number of runs (1 + 2N instead of 3)",
                    scenario: "02_training_reproducibility", checker: "comparison-queries"),
        DefectEntry(id: .E8, title: "tag search injectable through the filter: clause values are spliced into the SQL text",
                    services: ["experiments"], symptom: "a filter returns runs it must not (`tag.team = 'x' OR '1'='1'` returns every run) instead of being refused",
                    scenario: "02_training_reproducibility", checker: "run-search"),
        DefectEntry(id: .M8, title: "mixed-precision NaN propagates: a step whose fp16 gradient overflowed is applied, and the loss scale is never lowered",
                    services: ["workers"], symptom: "parameters non-finite after an overflowed step that should have been skipped; the scale never drops",
                    scenario: "02_training_reproducibility", checker: "mixed-precision"),
        DefectEntry(id: .H7, title: "no TTL jitter: every online value a materialization writes expires exactly one TTL later",
                    services: ["features"], symptom: "an expiry burst: more than 50 online values due to expire within one millisecond",
                    scenario: "03_feature_drift_storm", checker: "expiry-burst"),
        DefectEntry(id: .D1, title: "producer and consumer validate against different schemas: the streaming job checks every record against the first registered version",
                    services: ["pipeline"], symptom: "an event the ingest route accepted (valid for its own schema version) is refused by the job",
                    scenario: "03_feature_drift_storm", checker: "stream-schema"),
        DefectEntry(id: .D2, title: "no backward-compatibility check when a schema version is registered",
                    services: ["pipeline"], symptom: "a schema version adding a required field is registered (old data cannot be read by it)",
                    scenario: "03_feature_drift_storm", checker: "stream-schema"),
        DefectEntry(id: .D3, title: "backfill re-applies events without the exactly-once guard",
                    services: ["pipeline"], symptom: "an event counted twice in its window after a backfill",
                    scenario: "03_feature_drift_storm", checker: "stream-counts"),
        DefectEntry(id: .D4, title: "late data: windows closed at the newest event time, with no allowed lateness",
                    services: ["pipeline"], symptom: "an event within the allowed lateness dead-lettered as late instead of counted in its window",
                    scenario: "03_feature_drift_storm", checker: "stream-lateness"),
        DefectEntry(id: .D5, title: "partition key skew: events keyed by tenant, so every event lands on one partition",
                    services: ["pipeline"], symptom: "one partition of the events topic carries more than 1.5 x the mean load",
                    scenario: "03_feature_drift_storm", checker: "partition-skew"),
        DefectEntry(id: .D6, title: "checkpoint interval too large: counts written every fifth batch while the offset checkpoint moves every batch",
                    services: ["pipeline"], symptom: "acknowledged events missing from the counts after a crash of the pipeline service",
                    scenario: "03_feature_drift_storm", checker: "stream-counts"),
        DefectEntry(id: .D7, title: "dead-letter queue overflows: past ten dead letters the job drops failed events",
                    services: ["pipeline"], symptom: "a failed event neither counted nor dead-lettered",
                    scenario: "03_feature_drift_storm", checker: "dead-letter"),
        DefectEntry(id: .D9, title: "lineage misses a transformation step: output rows leave out deduplication",
                    services: ["pipeline"], symptom: "an output row's lineage lacks a step the job ran on it",
                    scenario: "03_feature_drift_storm", checker: "lineage"),
        DefectEntry(id: .D10, title: "transformation not idempotent: counts applied without the event-id guard, offsets committed to Kafka after the effects",
                    services: ["pipeline"], symptom: "an event counted twice after its batch is read again (a crash or a rebalance between the effects and the offset commit)",
                    scenario: "03_feature_drift_storm", checker: "stream-counts"),
    ]

    public static func entry(_ id: DefectID) -> DefectEntry {
        guard let entry = entries.first(where: { $0.id == id }) else { preconditionFailure("defect \(id) has no catalogue entry") }
        return entry
    }
}

/// The defects switched on in a run.
public struct DefectSet: Hashable, Sendable, Codable, CustomStringConvertible {
    public var ids: [DefectID]
    public init(_ ids: [DefectID]) { self.ids = Array(Set(ids)).sorted() }
    public static let empty = DefectSet([])
    public func contains(_ id: DefectID) -> Bool { ids.contains(id) }
    public var description: String { ids.isEmpty ? "none" : ids.map(\.rawValue).joined(separator: ",") }
}
