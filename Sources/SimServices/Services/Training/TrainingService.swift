import Foundation
import SimKernel

/// The training service. Its HTTP API takes a job (`POST training/jobs`): a job with a spec needs
/// an identity the gateway checked with auth; the job row goes to experiments_db (create if absent,
/// so a retried submission is one job) and the job to the `training.jobs` topic, which the
/// scheduler consumes. Its cluster endpoint (mailbox `training`) collects the trainers' progress
/// and completion, durably: when every trainer is done it evaluates the model read from the
/// parameter servers, records the run's metrics in experiments and registers the model as a new
/// version in the registry, all through the gateway. A restart finishes what a crash interrupted.
/// L4 leaves its topic to broker auto-creation, which is off.
///
/// Routes: `POST training/jobs` (SubmitJob -> JobAccepted), `POST training/runs` (`TrainingRuns`). In memory (`State`): the clock each
/// trainer's progress row was last written at, and whether a completion attempt is running; both
/// rebuilt from experiments_db's rows after a crash (a repeat report is answered from the row).
public enum TrainingService {
    public struct SubmitJob: Codable, Sendable, Equatable {
        /// The job's unique name (a resubmission with the same name is the same job).
        public var job: String?
        /// The job as JSON (`TrainingJobSpec`); absent for a job without a spec (a probe).
        public var spec: String?
    }
    public struct JobAccepted: Codable, Sendable, Equatable {
        public var jobId: Int64
    }

    /// The training service's in-memory state.
    public actor State {
        var progress: [Int: Int] = [:]
        var completing = false
        var completionAgain = false

        /// The last clock whose progress row was written for `worker` (-1: none since start).
        func lastProgress(_ worker: Int) -> Int { progress[worker] ?? -1 }
        func wroteProgress(_ worker: Int, clock: Int) { progress[worker] = Swift.max(clock, progress[worker] ?? -1) }
        /// Starts a completion attempt unless one runs; when one runs, asks it for another pass.
        func beginCompletion() -> Bool {
            if completing {
                completionAgain = true
                return false
            }
            completing = true
            return true
        }
        /// Starts a pass: clears any request for another one.
        func beginPass() { completionAgain = false }
        /// Ends a pass, in one step (no other task runs between the check and the clear): true
        /// when another pass was asked for meanwhile (run it), false when the attempt is over.
        func finishPass() -> Bool {
            if completionAgain {
                completionAgain = false
                return true
            }
            completing = false
            return false
        }
    }

    public static func spec(defects: DefectSet = .empty) -> ServiceSpec {
        var spec = ServiceSpec(name: "training", routes: [
            Route("POST", "training/jobs", SubmitJob.self, JobAccepted.self) { runtime, request, info throws(ServiceError) in
                try await submit(runtime, request, info)
            },
            TrainingRuns.route,
        ])
        spec.makeState = { State() }
        spec.database = "experiments_db"
        spec.migrations = [
            // A job's name is its tenant's (the unique index below, once the tenant column exists).
            "CREATE TABLE training_jobs(id INTEGER PRIMARY KEY, name TEXT NOT NULL, state TEXT NOT NULL, spec TEXT NOT NULL, submitted_by TEXT NOT NULL)",
            "CREATE TABLE training_job_workers(job TEXT NOT NULL, worker INTEGER NOT NULL, clock INTEGER NOT NULL, PRIMARY KEY(job, worker))",
            "CREATE TABLE training_progress(job TEXT NOT NULL, worker INTEGER NOT NULL, clock INTEGER NOT NULL, eval_loss REAL NOT NULL, PRIMARY KEY(job, worker))",
            "ALTER TABLE training_jobs ADD COLUMN result TEXT",
            // The submitter's tenant: its job's run and registered model are that tenant's.
            "ALTER TABLE training_jobs ADD COLUMN tenant TEXT NOT NULL DEFAULT 't1'",
            "CREATE UNIQUE INDEX training_jobs_name ON training_jobs(tenant, name)",
            "CREATE TABLE training_runs(name TEXT PRIMARY KEY, run INTEGER NOT NULL, task TEXT NOT NULL)",
        ]
        spec.topics = ["training.jobs", TrainingRuns.topic]
        spec.afterReady = { runtime in await serveCluster(runtime) }
        spec.createsTopics = !defects.contains(.L4)  // L4: left to auto-creation, which is off
        return spec
    }

    /// A job spec as JSON with sorted keys (the wire form in requests and on Kafka).
    public static func encode(_ job: TrainingJobSpec) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(job)) ?? Data(), as: UTF8.self)
    }

    public static func decode(_ text: String) -> TrainingJobSpec? { try? JSONDecoder().decode(TrainingJobSpec.self, from: Data(text.utf8)) }

    static func submit(_ runtime: ServiceRuntime, _ request: SubmitJob, _ info: RequestInfo) async throws(ServiceError) -> JobAccepted {
        let name = request.job ?? "job"
        let specText = request.spec ?? ""
        if !specText.isEmpty {
            guard info.user != nil else { throw ServiceError(401, "a training job needs an authenticated caller") }
            guard let job = decode(specText), job.name == name else { throw .badRequest("spec is not a training job named \(name)") }
            if let cluster = runtime.directory.training, runtime.context.simulation.training.initialLoss == nil {
                let dataset = SyntheticDataset.cached(seed: job.datasetSeed, featureCount: cluster.features)
                runtime.context.simulation.training.initialLoss = LogisticModel.loss([Float](repeating: 0, count: cluster.features + 1), dataset.test)
            }
        }
        // A job's name is its tenant's: a resubmission of the tenant's job is that job; another
        // tenant's job of the same name is another job, and nothing tells either of the other.
        let tenant = info.actingTenant
        guard case .success(let rows) = await runtime.transaction([
            SQLStatement("INSERT OR IGNORE INTO training_jobs(name, state, spec, submitted_by, tenant) VALUES (?, 'queued', ?, ?, ?)",
                         [.text(name), .text(specText), .text(info.user ?? ""), .text(tenant)]),
            SQLStatement("SELECT id FROM training_jobs WHERE tenant = ? AND name = ?", [.text(tenant), .text(name)]),
        ]), let id = rows[1].rows.first?.first?.integer else { throw .internalError("cannot store the job") }
        // Published on every (re)submission: the scheduler's placement is idempotent, and a crash
        // between the row and the event must not lose the event.
        let event = await runtime.kafka.produce("training.jobs", key: "\(tenant)/\(name)", value: Array(specText.utf8), context: runtime.context)
        if case .failure(let error) = event { throw .internalError("cannot publish the job: \(error)") }
        runtime.context.record(.trainingJobAccepted, payload: UInt64(id), "job \(name) (id \(id)) -> training.jobs")
        return JobAccepted(jobId: id)
    }

    /// The job the cluster runs: its tenant's job of its job's name (parameters: tenant, name).
    /// The cluster runs one job (its configuration is the build's); another tenant's job of the
    /// same name, submitted before or after, stays queued, as a job waits for a cluster that is
    /// busy, and can neither take the cluster's run nor its registered model.
    static let clusterJob = "SELECT id FROM training_jobs WHERE tenant = ? AND name = ?"
    static func clusterJobKey(_ cluster: TrainingPlatformConfiguration) -> [SQLValue] { [.text(cluster.tenant), .text(cluster.job.name)] }

    /// The cluster endpoint: progress and completion reports from trainers.
    static func serveCluster(_ runtime: ServiceRuntime) async {
        let context = runtime.context, state = runtime.state(State.self)
        guard let cluster = runtime.directory.training else { return }
        let inbox = context.mailbox("training")
        context.simulation.spawn { await completeIfFinished(runtime, cluster) }  // what a crash interrupted
        while true {
            let envelope = await inbox.receive()
            guard let message = envelope.payload as? TrainingMessage else { continue }
            switch message {
            case .progress(let worker, let clock, let loss, let owner):
                // A trainer reports each clock twice (under its first lock, then under both): the
                // row is written once per clock, the repeat is answered at once.
                guard await state.lastProgress(worker) < clock else {
                    context.reply(to: envelope, TrainingMessage.ok)
                    continue
                }
                context.simulation.spawn {
                    // The worker's progress row and the job's, in one transaction acting for the
                    // trainer (its name is the lock owner): a trainer that reports while it holds
                    // its platform locks waits for this database's locks as itself. Answered once
                    // committed (unanswered, the trainer asks again).
                    let written = await runtime.transaction([
                        // Never backwards: a late repeat of an older report changes nothing.
                        SQLStatement("""
                            INSERT INTO training_progress VALUES (?, ?, ?, ?) ON CONFLICT(job, worker)
                            DO UPDATE SET clock = excluded.clock, eval_loss = excluded.eval_loss WHERE excluded.clock > training_progress.clock
                            """, [.text(cluster.job.name), .integer(Int64(worker)), .integer(Int64(clock)), .real(Double(loss))]),
                        SQLStatement("UPDATE training_jobs SET state = 'running' WHERE id = (\(clusterJob)) AND state = 'queued'", clusterJobKey(cluster)),
                    ], asOwner: owner)
                    guard case .success = written else { return }
                    await state.wroteProgress(worker, clock: clock)
                    context.reply(to: envelope, TrainingMessage.ok)
                }
            case .done(let worker, let clock):
                context.simulation.spawn {
                    // Answered only once durable: an unanswered trainer asks again.
                    guard case .success = await runtime.transaction([SQLStatement("INSERT OR REPLACE INTO training_job_workers VALUES (?, ?, ?)",
                                                                                  [.text(cluster.job.name), .integer(Int64(worker)), .integer(Int64(clock))])]) else { return }
                    context.reply(to: envelope, TrainingMessage.ok)
                    await completeIfFinished(runtime, cluster)
                }
            default:
                break
            }
        }
    }

    /// What one attempt at completing the job found.
    enum Completion { case notFinished, completed, retry }

    /// When every trainer reported done and the job is not complete: evaluate, record, register.
    /// Retried with backoff until it gets through (a database or service may be down for a
    /// while): nothing else would call it again once every trainer's `done` was answered.
    /// A call that arrives while an attempt runs asks for another pass once it is done (that
    /// attempt may have counted the trainers before this call's `done` was stored).
    static func completeIfFinished(_ runtime: ServiceRuntime, _ cluster: TrainingPlatformConfiguration) async {
        let state = runtime.state(State.self)
        guard await state.beginCompletion() else { return }
        var backoff = 100 * Nanos.millisecond
        while true {
            await state.beginPass()
            let outcome = await tryToComplete(runtime, cluster)
            if outcome == .retry {
                await runtime.context.sleep(nanoseconds: backoff + runtime.context.withRandom { $0.uniform(0 ... backoff / 2) })
                backoff = Swift.min(2 * Nanos.second, backoff * 2)
            } else if await !state.finishPass() {
                return
            }
        }
    }

    static func tryToComplete(_ runtime: ServiceRuntime, _ cluster: TrainingPlatformConfiguration) async -> Completion {
        let context = runtime.context, job = cluster.job
        guard case .success(let rows) = await runtime.transaction([
            SQLStatement("SELECT COUNT(*) FROM training_job_workers WHERE job = ?", [.text(job.name)]),
            SQLStatement("SELECT state, result, tenant FROM training_jobs WHERE id = (\(clusterJob))", clusterJobKey(cluster)),
        ]) else { return .retry }
        // The submitter's tenant: the run and the model version are created for it.
        let tenant = rows[1].rows.first?[2].text ?? "t1"
        guard rows[0].rows.first?.first?.integer == Int64(cluster.workers), let state = rows[1].rows.first?.first?.text else { return .notFinished }
        guard state != "completed" else {
            // Completed by an earlier attempt whose answer was lost (or before a crash): the
            // outcome is the stored result.
            if let result = rows[1].rows.first?[1].text { published(result, context: context) }
            return .completed
        }
        var parameters = [Float](repeating: 0, count: cluster.features + 1)
        let shards = runtime.directory.parameterServers
        for (shard, address) in shards.enumerated() {
            let range = shardRange(shard: shard, shards: shards.count, parameterCount: parameters.count)
            // A shard that answers anything but its whole slice: try again (never register zeros).
            guard case .parameters(_, _, let values) = await context.callUntilAnswered(address, .readShard), values.count == range.count else { return .retry }
            for (offset, value) in values.enumerated() { parameters[range.lowerBound + offset] = value }
        }
        let dataset = SyntheticDataset.cached(seed: job.datasetSeed, featureCount: cluster.features)
        let accuracy = LogisticModel.accuracy(parameters, dataset.test), loss = LogisticModel.loss(parameters, dataset.test)
        let artifact = Checkpoint(step: job.steps, workerClocks: [job.steps], parameters: parameters).encoded()
        let checksum = hexString(crc32(artifact))
        let runRequest = ExperimentsService.CreateRun(tenant: tenant, seed: job.datasetSeed, lr: Double("\(job.learningRate)"), code: "synapsenet-sim", data: "synthetic-\(job.datasetSeed)",
                                                      runKey: "\(job.name)/\(checksum)", metric: ["accuracy": accuracy, "loss": Double(loss)])
        let versionRequest = RegistryService.RegisterVersion(model: job.name, artifact: hexBytes(artifact), checksum: checksum, tenant: tenant)
        guard let run = await runtime.callThroughGateway(HTTPRequest("POST", "experiments/runs", body: FormEncoder.encode(runRequest)), attempts: 5),
              let version = await runtime.callThroughGateway(HTTPRequest("POST", "registry/versions", body: FormEncoder.encode(versionRequest)), attempts: 5)
        else { return .retry }
        // The job's result (accuracy, loss bits, registered version) is stored with its state, so
        // that an attempt that finds the job completed knows what it completed with.
        let result = "\(accuracy) \(loss.bitPattern) \(version.body["version"] ?? "?") \(run.body["run"] ?? "?") \(checksum)"
        guard case .success = await runtime.transaction([SQLStatement("UPDATE training_jobs SET state = 'completed', result = ? WHERE id = (\(clusterJob))", [.text(result)] + clusterJobKey(cluster))]) else { return .retry }
        published(result, context: context)
        return .completed
    }

    /// Makes a completed job's stored result visible to checkers and the trace, once.
    static func published(_ result: String, context: ProcessContext) {
        let observations = context.simulation.training
        let fields = result.splitBytes(" ").map(String.init)
        guard !observations.jobCompleted, fields.count == 5, let accuracy = Double(fields[0]), let bits = UInt32(fields[1]) else { return }
        let loss = Float(bitPattern: bits)
        observations.finalAccuracy = accuracy
        observations.finalLoss = loss
        observations.jobCompleted = true
        observations.jobCompletedAt = context.simulation.now
        observations.registeredVersion = fields[2]
        context.record(.jobCompleted, payload: UInt64(loss.bitPattern),
                       "accuracy \(accuracy) loss \(loss); experiments run \(fields[3]), registry v\(fields[2]) checksum \(fields[4])")
    }
}

/// Lower-case hex of bytes, and back (nil for anything that is not hex).
public func hexBytes(_ bytes: [UInt8]) -> String { String(decoding: hexDigits(bytes), as: UTF8.self) }

/// The lower-case hex digits of `bytes`, as ASCII bytes.
public func hexDigits(_ bytes: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count * 2)
    for byte in bytes {
        let high = byte >> 4, low = byte & 15
        out.append(high < 10 ? UInt8(ascii: "0") + high : UInt8(ascii: "a") + high - 10)
        out.append(low < 10 ? UInt8(ascii: "0") + low : UInt8(ascii: "a") + low - 10)
    }
    return out
}

public func bytesFromHex(_ text: String) -> [UInt8]? {
    let utf8 = Array(text.utf8)
    guard utf8.count % 2 == 0 else { return nil }
    func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 48 ... 57: return c - 48
        case 97 ... 102: return c - 87
        case 65 ... 70: return c - 55
        default: return nil
        }
    }
    var out: [UInt8] = []
    out.reserveCapacity(utf8.count / 2)
    var index = 0
    while index < utf8.count {
        guard let high = nibble(utf8[index]), let low = nibble(utf8[index + 1]) else { return nil }
        out.append(high << 4 | low)
        index += 2
    }
    return out
}

extension TraceKind {
    public static let jobCompleted = TraceKind("job.completed")
    public static let trainingJobAccepted = TraceKind("training.job_accepted")
}
