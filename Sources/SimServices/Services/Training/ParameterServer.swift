import SimKernel

/// One parameter-server shard: holds a slice of the model, serves pulls behind the staleness gate
/// (BSP/SSP/ASP) and applies pushes as an atomic read-modify-write under the shard lock. On start it
/// restores the newest checkpoint that verifies.
///
/// Defects: A1 applies pushes without the lock (lost updates when pushes overlap); A9 serves pulls
/// without the SSP gate.
public final class ParameterServer {
    let shard: Int
    let configuration: TrainingPlatformConfiguration
    let defects: DefectSet
    let storage: Address
    let context: ProcessContext
    let observation: TrainingObservations.Shard
    /// The run's observations, to bump their revision when this shard's change.
    let observations: TrainingObservations
    let range: Range<Int>
    var parameters: [Float]
    /// Completed-iteration clock of each worker, as far as this shard knows.
    var clocks: [Int]
    /// The next clock whose push this shard expects from each worker (pushes are idempotent).
    var nextPush: [Int]
    var inProgress: Set<Int> = []
    var pendingPulls: [(envelope: Envelope, worker: Int, clock: Int)] = []
    var version = 0
    /// The all-reduce coordinator, on shard 0 only.
    var coordinator: AllReduceCoordinator?

    init(shard: Int, configuration: TrainingPlatformConfiguration, defects: DefectSet, storage: Address, context: ProcessContext) {
        self.shard = shard
        self.configuration = configuration
        self.defects = defects
        self.storage = storage
        self.context = context
        range = shardRange(shard: shard, shards: configuration.parameterServers, parameterCount: configuration.features + 1)
        parameters = [Float](repeating: 0, count: range.count)
        clocks = [Int](repeating: 0, count: configuration.workers)
        nextPush = clocks
        observations = context.simulation.training
        observation = observations.shards[shard]
    }

    var lockName: String { "ps-\(shard)/params" }

    /// The process body.
    public static func run(shard: Int, configuration: TrainingPlatformConfiguration, defects: DefectSet, storage: Address, context: ProcessContext) async {
        let server = ParameterServer(shard: shard, configuration: configuration, defects: defects, storage: storage, context: context)
        // Shard 0's node also hosts the checkpoint barrier's all-reduce coordinator (new, empty,
        // after every restart: its rounds are in memory).
        if shard == 0 { server.coordinator = AllReduceCoordinator(context: context, workers: configuration.workers) }
        let inbox = context.mailbox("ps")
        await server.restore()
        while true {
            let envelope = await inbox.receive()
            // Each request is handled in its own task, so a gated pull never blocks pushes.
            context.simulation.spawn { await server.handle(envelope) }
        }
    }

    /// Loads the newest checkpoint that verifies, or starts from zeros.
    func restore() async {
        let prefix = "checkpoints/\(configuration.job.name)/"
        var restoredStep: Int?
        if case .checkpointList(let paths) = await context.callUntilAnswered(storage, .listCheckpoints(prefix: prefix)) {
            for path in paths.reversed() {
                guard case .loaded(let bytes?) = await context.callUntilAnswered(storage, .load(path: path)),
                      let checkpoint = try? Checkpoint.decode(bytes),
                      checkpoint.parameters.count == configuration.features + 1 else {
                    context.record(.checkpointRejected, payload: stableHash(path), path)
                    continue
                }
                parameters = Array(checkpoint.parameters[range])
                for w in clocks.indices { clocks[w] = checkpoint.workerClocks.first ?? 0 }
                restoredStep = checkpoint.step
                context.record(.checkpointRestored, payload: UInt64(checkpoint.step), "\(path) step \(checkpoint.step)")
                break
            }
        }
        // Worker clocks survive a restart on this node's disk: a worker that finished never pulls
        // again, and without its clock the gate would hold the slowest worker back forever.
        for (worker, clock) in durableClocks().enumerated() where worker < clocks.count { clocks[worker] = Swift.max(clocks[worker], clock) }
        observation.epoch = context.epoch
        observation.parameters = parameters
        observation.replay = parameters
        observation.version = 0
        observation.pushesAccepted = 0
        observation.updatesApplied = 0
        observation.restoredFromStep = restoredStep
        observations.revision &+= 1
    }

    func durableClocks() -> [Int] {
        guard let bytes = try? context.disk.readAll("clocks") else { return [] }
        var reader = ByteReader(bytes)
        var result: [Int] = []
        while let value = reader.u64() { result.append(Int(value)) }
        return result
    }

    /// Raises a worker's clock and makes the table durable.
    func advance(worker: Int, to clock: Int) {
        guard clock > clocks[worker] else { return }
        clocks[worker] = clock
        var writer = ByteWriter()
        for value in clocks { writer.u64(UInt64(value)) }
        try? context.disk.writeAll("clocks", writer.bytes)
        try? context.disk.fsync("clocks")
        context.disk.syncDirectory()
    }

    func handle(_ envelope: Envelope) async {
        guard let message = envelope.payload as? TrainingMessage else { return }
        if let coordinator, coordinator.handle(message, envelope) { return }
        switch message {
        case .pull(let worker, let clock):
            advance(worker: worker, to: clock)
            pendingPulls.append((envelope, worker, clock))
            servePulls()
        case .push(let worker, let clock, let readVersion, let rate, let gradient):
            await applyPush(envelope, worker: worker, clock: clock, readVersion: readVersion, rate: rate, gradient: gradient)
        case .readShard:
            context.reply(to: envelope, TrainingMessage.parameters(shard: shard, version: version, values: parameters))
        default:
            break
        }
    }

    /// Serves every pending pull whose gate is open, in arrival order.
    func servePulls() {
        let slowest = clocks.min() ?? 0
        let bound = configuration.job.stalenessBound
        var waiting: [(envelope: Envelope, worker: Int, clock: Int)] = []
        for pull in pendingPulls {
            let open = bound == nil || defects.contains(.A9) || slowest >= pull.clock - bound!
            if open {
                observation.servedPulls.append((pull.worker, pull.clock, slowest, context.simulation.now))
                observations.revision &+= 1
                context.reply(to: pull.envelope, TrainingMessage.parameters(shard: shard, version: version, values: parameters))
            } else {
                waiting.append(pull)
            }
        }
        pendingPulls = waiting
    }

    func applyPush(_ envelope: Envelope, worker: Int, clock: Int, readVersion: Int, rate: Float, gradient: [Float]) async {
        if clock < nextPush[worker] {  // a retry of an applied push: acknowledge, apply nothing
            context.reply(to: envelope, TrainingMessage.pushAck(worker: worker, clock: clock, version: version))
            return
        }
        // A push from further ahead than expected is normal after this shard restarted from a
        // checkpoint: the worker kept going, the shard's memory of it did not.
        guard !inProgress.contains(worker) else { return }  // the original will answer
        inProgress.insert(worker)
        observation.pushesAccepted += 1
        observations.revision &+= 1
        if !gradient.isEmpty {
            if defects.contains(.A1) {
                // A1: read, compute, write back without the shard lock. Another push applied in
                // between is overwritten: a lost update.
                let read = parameters
                await context.sleep(nanoseconds: Int64(configuration.applyLatencyMicros) * Nanos.microsecond)
                write(read, rate: rate, gradient: gradient, readVersion: readVersion)
            } else {
                let owner = "\(context.node.name)/push-w\(worker)-c\(clock)"
                let grant = await context.acquireUntilGranted(lockName, owner: owner)
                let read = parameters
                await context.sleep(nanoseconds: Int64(configuration.applyLatencyMicros) * Nanos.microsecond)
                write(read, rate: rate, gradient: gradient, readVersion: readVersion)
                context.simulation.locks.release(grant)
            }
        }
        inProgress.remove(worker)
        nextPush[worker] = clock + 1
        advance(worker: worker, to: clock + 1)
        context.reply(to: envelope, TrainingMessage.pushAck(worker: worker, clock: clock, version: version))
        servePulls()
    }

    /// Writes `read - rate * gradient` and logs the update (the replay applies it to the replayed
    /// parameters, which equal the live ones exactly unless an update was lost). Under ASP the
    /// rate is staleness-aware (Zhang et al. 2016): divided by 1 + tau, tau the versions applied
    /// since the worker read, so a gradient computed on old parameters moves them less.
    private func write(_ read: [Float], rate scheduled: Float, gradient: [Float], readVersion: Int) {
        guard context.isAlive else { return }
        let tau = Swift.max(0, version - readVersion)
        let rate = configuration.job.syncMode == .asp ? scheduled / Float(1 + tau) : scheduled
        for j in parameters.indices {
            parameters[j] = read[j] - rate * gradient[j]
            observation.replay[j] -= rate * gradient[j]
            if !parameters[j].isFinite { observations.nonFiniteParameters += 1 }
        }
        let staleness = Swift.max(0, version - readVersion)
        observation.stalenessHistogram[staleness, default: 0] += 1
        version += 1
        observation.version = version
        observation.parameters = parameters
        observation.updatesApplied += 1
        observations.revision &+= 1
        context.record(.psApply, payload: UInt64(version), "shard \(shard) v\(version) tau \(staleness)")
    }
}

extension TraceKind {
    public static let psApply = TraceKind("ps.apply")
    public static let checkpointRestored = TraceKind("checkpoint.restored")
    public static let checkpointRejected = TraceKind("checkpoint.rejected")
}
