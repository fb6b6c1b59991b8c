import SimKernel
import SimServices
import Yams

/// A distributed training job submitted by the `client` node: a token from auth, then
/// `POST training/jobs` through the gateway (which checks the token with auth) until accepted.
/// From there the job travels the platform: training (experiments_db, `training.jobs`), the
/// scheduler, the trainers and parameter servers, storage and the object store, experiments and
/// the registry.
public struct TrainingJobWorkload: Workload {
    public static let name = "training_job"
    public static let requiredRoles = ["client", "gateway", "auth", "training", "scheduler", "storage", "experiments", "registry",
                                       "parameter_server", "trainer"]
    public static let keys = ["dataset_seed", "sync", "staleness", "steps", "micro_batches", "micro_batch_size", "learning_rate", "warmup_steps",
                              "checkpoint_interval", "report_interval", "step_time_ms", "initial_loss_scale", "loss_scale_growth_interval", "apply_latency_us"]

    /// The job and the cluster's numeric settings (shards and trainers come from the topology).
    public var configuration = TrainingPlatformConfiguration()

    public init(configuration: TrainingPlatformConfiguration = TrainingPlatformConfiguration()) { self.configuration = configuration }

    public init(reading node: Yams.Node?, field: String, reader: FieldReader) throws(ScenarioError) {
        guard let node else { return }
        var stepsNode: Yams.Node?, warmupNode: Yams.Node?
        for (key, value, _) in try reader.mapping(node, field, allowed: Self.keys) {
            let path = "\(field).\(key)"
            switch key {
            case "sync":
                let text = try reader.string(value, path)
                guard let mode = SyncMode(rawValue: text) else { throw reader.fail(value, path, "unknown sync mode '\(text)' (bsp, ssp, asp)") }
                configuration.job.syncMode = mode
            case "dataset_seed": configuration.job.datasetSeed = UInt64(try reader.integer(value, path, in: 0 ... Int64.max))
            case "staleness": configuration.job.staleness = Int(try reader.integer(value, path, in: 0 ... 1000))
            case "steps": configuration.job.steps = Int(try reader.integer(value, path, in: 1 ... 100_000)); stepsNode = value
            case "micro_batches": configuration.job.microBatches = Int(try reader.integer(value, path, in: 1 ... 64))
            case "micro_batch_size": configuration.job.microBatchSize = Int(try reader.integer(value, path, in: 1 ... 1024))
            case "learning_rate": configuration.job.learningRate = Float(try reader.number(value, path, in: 0.000_001 ... 100))
            case "warmup_steps": configuration.job.warmupSteps = Int(try reader.integer(value, path, in: 0 ... 100_000)); warmupNode = value
            case "checkpoint_interval": configuration.job.checkpointInterval = Int(try reader.integer(value, path, in: 1 ... 100_000))
            case "report_interval": configuration.job.reportInterval = Int(try reader.integer(value, path, in: 1 ... 100_000))
            case "step_time_ms": configuration.job.stepTimeMs = Int(try reader.integer(value, path, in: 1 ... 3_600_000))
            case "initial_loss_scale": configuration.job.initialLossScale = Float(try reader.number(value, path, in: 1 ... 16_777_216))
            case "loss_scale_growth_interval": configuration.job.lossScaleGrowthInterval = Int(try reader.integer(value, path, in: 1 ... 1_000_000))
            default: configuration.applyLatencyMicros = Int(try reader.integer(value, path, in: 0 ... 10_000_000))
            }
        }
        if configuration.job.warmupSteps > configuration.job.steps {
            throw reader.fail(warmupNode ?? stepsNode ?? node, "\(field).warmup_steps", "\(configuration.job.warmupSteps) warm-up steps exceed the job's \(configuration.job.steps) steps")
        }
    }

    public func configure(training: inout TrainingPlatformConfiguration?) {
        training = configuration
    }

    public func install(on platform: Platform) {
        guard let client = platform.topology.nodes(role: "client").first.flatMap({ platform.node($0.name) }),
              let gateway = platform.directory.services["gateway"] else { return }
        let job = platform.directory.training?.job ?? configuration.job
        client.addProcess("submit-job") { context in
            // A token for the submitting user, then the job; both retried until they succeed (the
            // submission is idempotent: the job is created if absent).
            var backoff = 100 * Nanos.millisecond
            func attempt(_ request: HTTPRequest) async -> HTTPResponse? {
                if case .success(let envelope) = await context.call(gateway, HTTPMessage.request(request), timeout: 3 * Nanos.second),
                   case .response(let response) = envelope.payload as? HTTPMessage, response.status == 200 { return response }
                await context.sleep(nanoseconds: backoff + context.withRandom { $0.uniform(0 ... backoff / 2) })
                backoff = Swift.min(2 * Nanos.second, backoff * 2)
                return nil
            }
            var token: String?
            while token == nil { token = await attempt(HTTPRequest("POST", "auth/token", body: ["user": "ml-engineer", "api_key": "k-ml-engineer"]))?.body["token"] }
            let submission = HTTPRequest("POST", "training/jobs", body: ["job": job.name, "spec": TrainingService.encode(job)], headers: ["authorization": token!])
            while true {
                if let accepted = await attempt(submission) {
                    context.record(.jobSubmitted, payload: stableHash(job.name), "\(job.name) accepted as job \(accepted.body["job_id"] ?? "?")")
                    return
                }
            }
        }
    }
}

extension TraceKind {
    public static let jobSubmitted = TraceKind("client.job_submitted")
}
