import SimKernel

/// A training worker: pulls the parameters from every shard, computes a real gradient on its
/// data shard (micro-batches, Float16 with dynamic loss scaling, accumulation normalised once),
/// pushes it, and persists its clock. Every `checkpointInterval` iterations it takes a consistent
/// snapshot of all shards (holding every shard lock), evaluates it, and the chief worker saves it
/// as a checkpoint. Every `reportInterval` iterations (after the snapshot, when both fall on one
/// iteration) it reports progress under the job and worker locks; the training service writes it
/// to the job's database rows acting for this trainer. After a crash it resumes from its durable
/// clock.
///
/// Before the chief saves, every worker passes the checkpoint barrier: an all-reduce of its
/// held-out statistics through the coordinator beside shard 0 (`AllReduceCoordinator`).
///
/// Defects: A2 reads the barrier's reduced values under the aggregation lock before the worker
/// lock (submitting takes them in the other order); F10 takes the
/// worker lock before the job lock when reporting; M7 lets every worker save the checkpoint; M2
/// accumulates the micro-batches in fp16 (`GradientAccumulator`).
public final class TrainingWorker: @unchecked Sendable {  // confined to its simulation's thread
    let index: Int
    let configuration: TrainingPlatformConfiguration
    let defects: DefectSet
    let context: ProcessContext
    let dataset: SyntheticDataset
    let shards: [Address]
    let storage: Address
    let trainingService: Address
    var scaler: LossScaler
    var optimizerSteps = 0
    var orderCache: (epoch: Int, order: [Int])?
    let startSignal = Signal()

    init(index: Int, configuration: TrainingPlatformConfiguration, defects: DefectSet, context: ProcessContext,
         dataset: SyntheticDataset, shards: [Address], storage: Address, trainingService: Address) {
        self.index = index
        self.configuration = configuration
        self.defects = defects
        self.context = context
        self.dataset = dataset
        self.shards = shards
        self.storage = storage
        self.trainingService = trainingService
        scaler = LossScaler(initialScale: configuration.job.initialLossScale, growthInterval: configuration.job.lossScaleGrowthInterval)
    }

    var job: TrainingJobSpec { configuration.job }
    var owner: String { "\(context.node.name)/trainer" }

    /// The process body: a control loop answering pings, and the training loop.
    public static func run(index: Int, configuration: TrainingPlatformConfiguration, defects: DefectSet, context: ProcessContext,
                           dataset: SyntheticDataset, shards: [Address], storage: Address, trainingService: Address) async {
        let worker = TrainingWorker(index: index, configuration: configuration, defects: defects, context: context,
                                    dataset: dataset, shards: shards, storage: storage, trainingService: trainingService)
        let control = context.mailbox("control")
        context.simulation.spawn {
            while true {
                let envelope = await control.receive()
                context.reply(to: envelope, TrainingMessage.ok)
            }
        }
        // `start` is answered at any time, also after a restart resumed the job on its own: the
        // scheduler may be retrying a start whose first answer was lost with the crash.
        let inbox = context.mailbox("worker")
        context.simulation.spawn {
            while true {
                let envelope = await inbox.receive()
                guard case .start = envelope.payload as? TrainingMessage else { continue }
                context.reply(to: envelope, TrainingMessage.ok)
                worker.startSignal.open()
            }
        }
        await worker.train()
    }

    /// The durable clock (completed iterations), or nil when this node never started the job.
    func durableClock() -> Int? {
        guard let bytes = try? context.disk.readAll("clock"), bytes.count == 8 else { return nil }
        var reader = ByteReader(bytes)
        return reader.u64().map { Int($0) }
    }

    func persist(clock: Int) {
        var writer = ByteWriter()
        writer.u64(UInt64(clock))
        try? context.disk.writeAll("clock", writer.bytes)
        try? context.disk.fsync("clock")
        context.disk.syncDirectory()
    }

    func train() async {
        var clock: Int
        if let resumed = durableClock() {
            clock = resumed
            context.record(.workerResume, payload: UInt64(clock), "resume at clock \(clock)")
        } else {
            await startSignal.wait()  // the scheduler's start
            clock = 0
            persist(clock: 0)
        }
        optimizerSteps = clock
        while clock < job.steps {
            await iterate(clock: clock)
            clock += 1
            persist(clock: clock)
            context.simulation.training.workerClocks[index] = clock
            // The snapshot first, so that the report carries its fresh evaluation loss.
            if clock % job.checkpointInterval == 0 { await snapshot(clock: clock) }
            if clock % job.reportInterval == 0 { await report(clock: clock) }
        }
        _ = await context.callUntilAnswered(trainingService, .done(worker: index, clock: clock))
    }

    /// Sends one request to every shard at once and returns the replies in shard order. Pulls go
    /// to all shards in parallel, as a parameter-server client does: a shard that restarted learns
    /// every worker's clock from their pulls, instead of waiting for workers that are blocked on
    /// another shard.
    func askAllShards(_ message: @escaping @Sendable (Int) -> TrainingMessage) async -> [TrainingMessage] {
        let context = self.context, shards = self.shards
        return await withTaskGroup(of: (Int, TrainingMessage).self) { group in
            for (shard, address) in shards.enumerated() {
                group.addTask { (shard, await context.callUntilAnswered(address, message(shard))) }
            }
            var replies = [TrainingMessage](repeating: .ok, count: shards.count)
            for await (shard, reply) in group { replies[shard] = reply }
            return replies
        }
    }

    /// One iteration: pull, compute, push.
    func iterate(clock: Int) async {
        var parameters = [Float](repeating: 0, count: configuration.features + 1)
        var versions = [Int](repeating: 0, count: shards.count)
        let worker = index
        for (shard, reply) in await askAllShards({ _ in .pull(worker: worker, clock: clock) }).enumerated() {
            if case .parameters(_, let version, let values) = reply {
                let range = shardRange(shard: shard, shards: shards.count, parameterCount: parameters.count)
                for (offset, value) in values.enumerated() where offset < range.count { parameters[range.lowerBound + offset] = value }
                versions[shard] = version
            }
        }
        // BUGGIFY: a straggler step (a noisy neighbour on the trainer's machine).
        let straggle: Int64 = context.simulation.buggify(Ratio(1, 10)) ? 3 : 1
        let speed = Int64(configuration.speedPercent(worker: index)) * straggle
        await context.sleep(nanoseconds: Int64(job.stepTimeMs) * Nanos.millisecond * speed / 100)

        let gradient = computeGradient(parameters, clock: clock)
        let rate = job.learningRate * Float(1)
        let scheduleRate = LearningRateSchedule(base: rate, warmupSteps: job.warmupSteps, totalSteps: job.steps).rate(step: optimizerSteps)
        let shardCount = shards.count, parameterCount = parameters.count, readVersions = versions
        _ = await askAllShards { shard in
            let range = shardRange(shard: shard, shards: shardCount, parameterCount: parameterCount)
            let slice = gradient.map { Array($0[range]) } ?? []  // empty: a skipped step only advances the clock
            return .push(worker: worker, clock: clock, readVersion: readVersions[shard], rate: scheduleRate, gradient: slice)
        }
        if gradient != nil { optimizerSteps += 1 }  // the scheduler advances after the optimizer step
    }

    /// The mean gradient of this iteration's batch, or nil when mixed precision overflowed and the
    /// step is skipped (the loss scale backs off).
    func computeGradient(_ parameters: [Float], clock: Int) -> [Float]? {
        let batchSize = job.microBatches * job.microBatchSize
        let shardSize = (dataset.train.count + configuration.workers - 1 - index) / configuration.workers
        let start = clock * batchSize
        var accumulator = GradientAccumulator(parameterCount: parameters.count, halfPrecision: defects.contains(.M2))
        var batch: [Example] = []
        var microSums: [[Float16]] = []
        for position in start ..< start + batchSize {
            let order = shardOrder(epoch: position / shardSize)
            batch.append(dataset.train[order[position % shardSize]])
            if batch.count == job.microBatchSize {
                microSums.append(LogisticModel.scaledHalfGradientSum(parameters, batch, scale: scaler.scale))
                accumulator.add(microSums[microSums.count - 1], items: batch.count)
                batch.removeAll()
            }
        }
        let scale = scaler.scale
        let apply = scaler.update(foundNonFinite: accumulator.foundNonFinite)
        let observations = context.simulation.training
        observations.lossScales[index] = scaler.scale
        observations.skippedSteps[index] = scaler.skippedSteps
        context.record(.workerStep, payload: UInt64(scale.bitPattern), "clock \(clock) scale \(scale)\(apply ? "" : " overflow: step skipped")")
        let gradient = apply ? accumulator.gradient(scale: scale) : nil
        observations.accumulations.append(.init(worker: index, clock: clock, microSums: microSums, items: accumulator.items, scale: scale, applied: gradient))
        return gradient
    }

    /// This epoch's order of the worker's data shard, computed once per epoch.
    func shardOrder(epoch: Int) -> [Int] {
        if let cached = orderCache, cached.epoch == epoch { return cached.order }
        let order = dataset.shardOrder(worker: index, workers: configuration.workers, epoch: epoch, seed: context.simulation.seed)
        orderCache = (epoch, order)
        return order
    }

    /// Reports progress under the job lock and this worker's lock, taken in that order (the
    /// scheduler's order). It tells the training service under each lock; the first time the
    /// progress is written to the database (acting as this trainer), the second is acknowledged.
    func report(clock: Int) async {
        let jobLock = "job/\(job.name)", workerLock = "worker/\(index)"
        let order = defects.contains(.F10) ? [workerLock, jobLock] : [jobLock, workerLock]
        let loss = context.simulation.training.evalLosses.last { $0.worker == index }?.loss ?? 0
        var grants: [LockManager.Grant] = []
        for lock in order {
            grants.append(await context.acquireUntilGranted(lock, owner: owner))
            _ = await context.callUntilAnswered(trainingService, .progress(worker: index, clock: clock, evalLoss: loss, owner: owner))
        }
        for grant in grants.reversed() { context.simulation.locks.release(grant) }
    }

    /// A consistent snapshot of all shards (every shard lock held), evaluated on held-out data;
    /// the chief saves it as a checkpoint.
    func snapshot(clock: Int) async {
        let order = Array(shards.indices)
        // Two-phase locking: each shard is locked and then read; nothing is released before every
        // shard is read, so the snapshot is consistent across shards.
        var grants: [LockManager.Grant] = []
        var parameters = [Float](repeating: 0, count: configuration.features + 1)
        for shard in order {
            grants.append(await context.acquireUntilGranted("ps-\(shard)/params", owner: owner))
            if case .parameters(_, _, let values) = await context.callUntilAnswered(shards[shard], .readShard) {
                let range = shardRange(shard: shard, shards: shards.count, parameterCount: parameters.count)
                for (offset, value) in values.enumerated() where offset < range.count { parameters[range.lowerBound + offset] = value }
            }
        }
        for grant in grants.reversed() { context.simulation.locks.release(grant) }
        let loss = LogisticModel.loss(parameters, Array(dataset.test.prefix(200)))
        context.simulation.training.evalLosses.append((context.simulation.now, index, clock, loss))
        context.record(.workerEval, payload: UInt64(loss.bitPattern), "clock \(clock) eval loss \(loss)")
        // The checkpoint barrier: every worker's held-out statistics on its slice of the test set
        // are all-reduced (summed) before the checkpoint is saved.
        let slice = dataset.test.prefix(200).enumerated().filter { $0.offset % configuration.workers == index }.map(\.element)
        let (arrived, sums) = await allReduce(round: clock, values: [LogisticModel.loss(parameters, slice) * Float(slice.count), Float(slice.count)])
        let meanLoss = sums.count == 2 && sums[1] > 0 ? sums[0] / sums[1] : .nan
        context.simulation.training.barrierExits.append((clock, index, arrived, meanLoss))
        if index == 0 || defects.contains(.M7) {
            await saveCheckpoint(Checkpoint(step: clock, workerClocks: [clock], parameters: parameters))
        }
    }

    /// How long a worker waits at the checkpoint barrier for the others before it goes on with
    /// what has arrived. A worker that crashed between its clock and its submission never arrives
    /// (its restart resumes past the checkpoint), and after a restart of the coordinator's node
    /// the workers that had already left never submit again: the rest leave at the timeout with
    /// partial sums, as a collective with a timeout does (recorded as `allreduce.timeout`).
    static let barrierTimeout: Int64 = 5 * Nanos.second

    /// All-reduces `values` (element-wise sum over the workers) in round `round` through the
    /// coordinator on shard 0: submits once under the worker lock then the aggregation lock, then
    /// polls the round under both locks, every 20-30 ms, until every worker has arrived or the
    /// barrier times out. Returns how many had arrived in the state it read, and the sums.
    /// A2 polls under the aggregation lock first: a reader holding it waits for the worker lock
    /// that a late submitter holds while it waits for the aggregation lock, and the barrier
    /// sticks at N-1/N.
    func allReduce(round: Int, values: [Float]) async -> (arrived: Int, sums: [Float]) {
        let submitOrder = [AllReduceCoordinator.workerLock, AllReduceCoordinator.aggregationLock]
        let readOrder = defects.contains(.A2) ? Array(submitOrder.reversed()) : submitOrder
        var deadline = context.simulation.now + Self.barrierTimeout
        var submitted = false
        while true {
            var grants: [LockManager.Grant] = []
            for lock in submitted ? readOrder : submitOrder { grants.append(await context.acquireUntilGranted(lock, owner: owner)) }
            let request: TrainingMessage = submitted ? .reduceRead(round: round) : .reduceSubmit(round: round, worker: index, values: values)
            let reply = await context.callUntilAnswered(shards[0], request)
            for grant in grants.reversed() { context.simulation.locks.release(grant) }
            guard case .reduced(_, let arrived, let sums) = reply else {
                preconditionFailure("round \(round): the all-reduce coordinator answered \(reply.traceSummary)")
            }
            if submitted && !arrived.contains(index) {
                // The coordinator restarted and forgot the round: submit again, and wait the
                // whole timeout from here for the others to do the same.
                submitted = false
                deadline = context.simulation.now + Self.barrierTimeout
                continue
            }
            submitted = true
            if arrived.count == configuration.workers { return (arrived.count, sums) }
            if context.simulation.now >= deadline {
                context.record(.allReduceTimeout, payload: UInt64(round) << 32 | UInt64(arrived.count),
                               "round \(round): barrier timed out at \(arrived.count)/\(configuration.workers)")
                return (arrived.count, sums)
            }
            await context.sleep(nanoseconds: 20 * Nanos.millisecond + context.withRandom { $0.uniform(0 ... 10 * Nanos.millisecond) })
        }
    }

    /// Streams the checkpoint to storage in chunks and commits it; starts over when storage
    /// rejects the commit (it lost chunks in a crash), at most 5 times.
    func saveCheckpoint(_ checkpoint: Checkpoint) async {
        let path = "checkpoints/\(job.name)/step-" + String(repeating: "0", count: Swift.max(0, 6 - "\(checkpoint.step)".count)) + "\(checkpoint.step)"
        let bytes = checkpoint.encoded()
        let chunk = 32
        for _ in 0 ..< 5 {
            for offset in stride(from: 0, to: bytes.count, by: chunk) {
                let piece = Array(bytes[offset ..< Swift.min(bytes.count, offset + chunk)])
                _ = await context.callUntilAnswered(storage, .saveChunk(path: path, writer: context.node.name, offset: offset, bytes: piece))
            }
            let reply = await context.callUntilAnswered(storage, .commit(path: path, writer: context.node.name, length: bytes.count, checksum: crc32(bytes)))
            if case .committed = reply { return }
            context.record(.workerSaveRetry, payload: stableHash(path), path)
        }
    }
}

extension TraceKind {
    public static let workerStep = TraceKind("worker.step")
    public static let workerEval = TraceKind("worker.eval")
    public static let workerResume = TraceKind("worker.resume")
    public static let workerSaveRetry = TraceKind("worker.save_retry")
}
