import SimKernel
import SimServices
import Yams

/// Scenario 07's elastic data-parallel job: the `elastic_worker` nodes join a rendezvous in
/// Consul together at `start_at_ms`, one more (`late_joiner`) joins at `join_at_ms`, one
/// (`leaver`) scales down at `leave_at_step`, and the fault profile crashes and cuts off others.
/// Each membership change starts a new generation that resumes from the newest valid sharded
/// checkpoint in the object store (`ElasticWorker`).
public struct ElasticTrainingWorkload: Workload {
    public static let name = "elastic_training"
    public static let requiredRoles = ["elastic_worker", "consul", "minio"]
    public static let keys = ["dataset_seed", "features", "seed", "steps", "batch", "learning_rate", "min_workers", "checkpoint_interval",
                              "compression_threshold", "step_time_ms", "start_at_ms", "late_joiner", "join_at_ms", "leaver", "leave_at_step"]

    public var job = ElasticJobConfiguration()

    public init() {}

    public init(reading node: Yams.Node?, field: String, reader: FieldReader) throws(ScenarioError) {
        guard let node else { return }
        for (key, value, _) in try reader.mapping(node, field, allowed: Self.keys) {
            let path = "\(field).\(key)"
            switch key {
            case "dataset_seed": job.datasetSeed = UInt64(try reader.integer(value, path, in: 0 ... Int64.max))
            case "features": job.features = Int(try reader.integer(value, path, in: 1 ... 256))
            case "seed": job.seed = UInt64(try reader.integer(value, path, in: 0 ... Int64.max))
            case "steps": job.steps = Int(try reader.integer(value, path, in: 1 ... 100_000))
            case "batch": job.batch = Int(try reader.integer(value, path, in: 1 ... 256))
            case "learning_rate": job.learningRate = Float(try reader.number(value, path, in: 0.000_001 ... 100))
            case "min_workers": job.minWorkers = Int(try reader.integer(value, path, in: 1 ... 64))
            case "checkpoint_interval": job.checkpointInterval = Int(try reader.integer(value, path, in: 1 ... 100_000))
            case "compression_threshold": job.compressionThreshold = Float(try reader.number(value, path, in: 0 ... 100))
            case "step_time_ms": job.stepTimeMs = Int(try reader.integer(value, path, in: 1 ... 60_000))
            case "start_at_ms": job.startAtMs = Int(try reader.integer(value, path, in: 0 ... 3_600_000))
            case "late_joiner": job.lateJoiner = try reader.string(value, path)
            case "join_at_ms": job.joinAtMs = Int(try reader.integer(value, path, in: 0 ... 3_600_000))
            case "leaver": job.leaver = try reader.string(value, path)
            default: job.leaveAtStep = Int(try reader.integer(value, path, in: 0 ... 100_000))
            }
        }
        // Every rank needs a whole batch in each epoch: the smallest sampler (all workers) must fit.
        if job.batch * 64 > 2048 { throw reader.fail(node, "\(field).batch", "\(job.batch) rows per rank leave no whole epoch for 64 workers over the 2048 training rows (at most 32)") }
    }

    public func validate(topology: Topology) -> String? {
        let workers = topology.nodes(role: "elastic_worker").map(\.name)
        for (key, named) in [("late_joiner", job.lateJoiner), ("leaver", job.leaver)] {
            if let named, !workers.contains(named) {
                return "\(key) '\(named)' is not an elastic_worker node (those are: \(workers.joined(separator: ", ")))"
            }
        }
        if workers.count < job.minWorkers { return "min_workers \(job.minWorkers) exceeds the \(workers.count) elastic_worker nodes" }
        if workers.count > 64 { return "\(workers.count) elastic_worker nodes: at most 64" }
        return nil
    }

    public func install(on platform: Platform) {
        let specs = platform.topology.nodes(role: "elastic_worker")
        var peers: [String: Address] = [:]
        for spec in specs {
            guard let node = platform.node(spec.name) else { continue }
            peers[spec.name] = Address(node: node.id, service: "elastic")
        }
        let job = self.job, defects = platform.defects, directory = platform.directory, everyone = peers
        for spec in specs {
            guard let node = platform.node(spec.name) else { continue }
            let speed = spec.speedPercent
            node.addProcess("elastic-worker") { context in
                await ElasticWorker.run(name: spec.name, job: job, defects: defects, context: context, directory: directory, peers: everyone, speedPercent: speed)
            }
        }
    }
}

/// Why an elastic-training checker cannot fire in `scenario`.
func elasticTrainingMissing(_ scenario: Scenario) -> String? {
    scenario.has(workload: ElasticTrainingWorkload.name) ? nil : "no elastic_training workload runs in this scenario"
}

extension Scenario {
    /// The elastic job's configuration, when the scenario runs one.
    var elasticJob: ElasticJobConfiguration? { workloads.lazy.compactMap { ($0 as? ElasticTrainingWorkload)?.job }.first }
}
