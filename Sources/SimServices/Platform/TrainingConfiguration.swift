import SimKernel

/// How parameter servers keep workers in step.
public enum SyncMode: String, Codable, Sendable, CaseIterable {
    /// Bulk synchronous: staleness 0.
    case bsp
    /// Stale synchronous: a worker at clock c proceeds only while the slowest worker's clock >= c - s.
    case ssp
    /// Asynchronous: no bound.
    case asp
}

/// A training job, as submitted to the training service.
public struct TrainingJobSpec: Codable, Hashable, Sendable {
    public var name = "job-1"
    /// Seed of the synthetic data set (the data is part of the job, not of the run).
    public var datasetSeed: UInt64 = 7
    public var syncMode: SyncMode = .ssp
    /// The SSP bound s (ignored for BSP, which uses 0, and ASP, which has none).
    public var staleness = 2
    /// Iterations each worker runs.
    public var steps = 40
    public var microBatches = 4
    public var microBatchSize = 8
    public var learningRate: Float = 0.5
    public var warmupSteps = 5
    /// Every this many iterations, workers take a consistent snapshot (and a checkpoint is saved).
    public var checkpointInterval = 10
    /// Every this many iterations, a worker reports progress to the scheduler's job record.
    public var reportInterval = 5
    /// Virtual compute time of one iteration on a worker of speed 100 %, in ms.
    public var stepTimeMs = 200
    /// Initial loss scale of mixed precision, and the number of clean steps before it doubles.
    public var initialLossScale: Float = 65536
    public var lossScaleGrowthInterval = 20

    public init() {}

    /// The effective staleness bound, nil for none.
    public var stalenessBound: Int? {
        switch syncMode {
        case .bsp: return 0
        case .ssp: return staleness
        case .asp: return nil
        }
    }
}

/// The topology and workload of a distributed-training platform.
public struct TrainingPlatformConfiguration: Codable, Hashable, Sendable {
    public var parameterServers = 2
    public var workers = 3
    /// Per-worker compute time as a percentage of `stepTimeMs` (missing entries: 100).
    public var workerSpeedPercent: [Int] = [100, 100, 250]
    public var job = TrainingJobSpec()
    /// The tenant whose job of `job.name` the cluster runs (the scenarios' submitter, ml-engineer,
    /// is t1's): another tenant's job of that name is not the cluster's, and stays queued.
    public var tenant = "t1"
    /// Virtual time a parameter server needs to apply one update, in microseconds.
    public var applyLatencyMicros = 500
    /// Features of the synthetic data set.
    public var features = 8

    public init() {}

    public func speedPercent(worker: Int) -> Int { worker < workerSpeedPercent.count ? workerSpeedPercent[worker] : 100 }
}
