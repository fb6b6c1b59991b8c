import SimKernel

/// One worker of the elastic data-parallel job (torchelastic's model). It joins the rendezvous,
/// waits for its generation to settle, resumes from the newest valid checkpoint (every member
/// does, so all start from the same parameters), and trains: each step it samples its rows
/// (`DistributedSampler`), computes the gradient, compresses it with error feedback, all-reduces
/// it around the ring of the generation's members, and applies the mean. Every
/// `checkpointInterval` steps the ranks save their shards behind rank 0's barrier
/// (`ElasticCheckpoints`). A neighbour that stays silent is pinged; a dead one is evicted from
/// the rendezvous. Any change of membership (a join, a leave, an eviction) starts a new
/// generation, and every member restarts from the newest checkpoint with the new ranks.
///
/// Durable state: the `left` marker on its disk (a worker scaled down stays out after a restart);
/// everything else lives in the rendezvous and the checkpoints.
///
/// Defects: A3 (rank-seeded sampler), A8 (the mean divided by the first generation's world size:
/// the ring is relinked after a membership change but its size is not), and those of the
/// rendezvous (A5), the checkpoints (A4, A6, A10) and the compressor (A7).
public final class ElasticWorker: @unchecked Sendable {  // confined to its simulation's thread
    /// Where a stashed message belongs: generation, step, phase (-1 - rank for a barrier notice).
    struct Tag: Hashable {
        var generation: Int
        var step: Int
        var phase: Int
    }
    enum Outcome { case completed, left, changed }

    let name: String
    let job: ElasticJobConfiguration
    let defects: DefectSet
    let context: ProcessContext
    let dataset: SyntheticDataset
    let rendezvous: ElasticRendezvous
    let checkpoints: ElasticCheckpoints
    /// Every worker's `elastic` address, by node name.
    let peers: [String: Address]
    let speedPercent: Int
    let mailbox: Mailbox
    var parameters: [Float]
    var compressor: GradientCompressor
    var stash: [Tag: [Float]] = [:]
    var notices: [Tag: (key: String, crc: UInt32)] = [:]
    /// A8: the world size of the first generation this process trained in.
    var firstWorld: Int?
    var observations: ElasticTrainingObservations { context.simulation.elasticTraining }

    init(name: String, job: ElasticJobConfiguration, defects: DefectSet, context: ProcessContext, directory: PlatformDirectory,
         peers: [String: Address], speedPercent: Int) {
        self.name = name
        self.job = job
        self.defects = defects
        self.context = context
        self.peers = peers
        self.speedPercent = speedPercent
        dataset = SyntheticDataset.cached(seed: job.datasetSeed, featureCount: job.features)
        rendezvous = ElasticRendezvous(consul: ConsulClient(server: directory.consul), job: job.name, compareAndSet: !defects.contains(.A5))
        checkpoints = ElasticCheckpoints(store: ObjectStoreClient(server: directory.objectStore), job: job.name, layers: job.layers, defects: defects)
        mailbox = context.mailbox("elastic")
        parameters = [Float](repeating: 0, count: job.parameterCount)
        compressor = GradientCompressor(parameterCount: job.parameterCount, threshold: job.compressionThreshold, errorFeedback: !defects.contains(.A7))
    }

    /// The process body of node `name`.
    public static func run(name: String, job: ElasticJobConfiguration, defects: DefectSet, context: ProcessContext, directory: PlatformDirectory,
                           peers: [String: Address], speedPercent: Int) async {
        let worker = ElasticWorker(name: name, job: job, defects: defects, context: context, directory: directory, peers: peers, speedPercent: speedPercent)
        if (try? context.disk.readAll("left")) != nil {
            // Scaled down for good. A crash may have come between the marker and the leave: leave
            // again (nothing changes if it is done), and answer no pings, so that peers still
            // waiting for this worker find it gone rather than alive and silent.
            _ = await worker.rendezvous.leave(name, context: context)
            return
        }
        let control = context.mailbox("control")
        context.simulation.spawn {
            while true { context.reply(to: await control.receive(), ElasticMessage.ack) }
        }
        // The receiver acknowledges and stashes every chunk and barrier notice as it arrives, so
        // that two workers sending to each other never wait for each other to read.
        context.simulation.spawn {
            while true { worker.absorb(await worker.mailbox.receive()) }
        }
        await worker.run()
    }

    func sleep(ms: Int) async { await context.sleep(nanoseconds: Int64(ms) * Nanos.millisecond) }

    func run() async {
        while true {
            if case .success(.ok) = await checkpoints.store.request(.createBucket(ElasticCheckpoints.bucket), context: context) { break }
            await sleep(ms: 200)
        }
        let start = Int64(job.lateJoiner == name ? job.joinAtMs : job.startAtMs) * Nanos.millisecond
        if context.trueTime < start { await context.sleep(nanoseconds: start - context.trueTime) }
        if await rendezvous.completedStep(context: context) != nil { return }
        claim(await rendezvous.join(name, context: context), fromJoin: true)
        var settled: Int?
        while true {
            await sleep(ms: job.settleMs)
            guard let (state, _) = await rendezvous.read(context: context) else { continue }
            if await rendezvous.completedStep(context: context) != nil { return }
            guard let rank = state.rank(of: name) else {
                // Evicted (taken for dead, or its join was lost): join again.
                claim(await rendezvous.join(name, context: context), fromJoin: true)
                continue
            }
            // A generation trains once it held for a settle window and has enough members.
            guard settled == state.generation, state.members.count >= job.minWorkers else {
                settled = state.generation
                continue
            }
            claim(state, fromJoin: false)
            if firstWorld == nil { firstWorld = state.members.count }
            stash = stash.filter { $0.key.generation >= state.generation }
            notices = notices.filter { $0.key.generation >= state.generation }
            guard let step = await resume(generation: state.generation) else { continue }
            switch await train(from: step, state: state, rank: rank) {
            case .completed:
                await rendezvous.markCompleted(step: job.steps, context: context)
                return
            case .left:
                return
            case .changed:
                settled = nil
            }
        }
    }

    func claim(_ state: RendezvousState, fromJoin: Bool) {
        guard let rank = state.rank(of: name) else { return }
        observations.claims.append(.init(at: context.trueTime, worker: name, generation: state.generation, rank: rank, world: state.members.count, fromJoin: fromJoin))
        observations.revision &+= 1
        context.record(.elasticClaim, payload: UInt64(state.generation) << 8 | UInt64(rank), "g\(state.generation) rank \(rank) of \(state.members.count)\(fromJoin ? " (join)" : "")")
    }

    /// Loads the checkpoint the generation agreed on (the newest valid one when this worker is
    /// the first to ask); the step to train from, nil when Consul or the store did not answer.
    func resume(generation: Int) async -> Int? {
        let listedAt = context.trueTime
        guard let agreed = await rendezvous.agreeOnResume(generation: generation, proposal: { await checkpoints.newestManifest(context: context) }, context: context)
        else { return nil }
        var loaded: ElasticCheckpoints.Loaded?
        if !agreed.manifest.isEmpty {
            switch await checkpoints.load(manifestKey: agreed.manifest, context: context) {
            case .loaded(let checkpoint): loaded = checkpoint
            case .invalid:
                // A10's unverified choice may name nothing loadable: it starts from scratch. A
                // verified choice that no longer verifies (a corrupted read) is read again.
                guard defects.contains(.A10) else { return nil }
                loaded = nil
            case .unreachable: return nil
            }
        }
        parameters = loaded?.parameters ?? [Float](repeating: 0, count: job.parameterCount)
        compressor.reset()
        let step = loaded?.step ?? 0
        observations.resumes.append(.init(worker: name, generation: generation, listedAt: listedAt, answeredAt: context.trueTime, decided: agreed.decided,
                                          step: step, checkpointGeneration: loaded?.generation, parameters: parameters))
        observations.revision &+= 1
        context.record(.elasticResume, payload: UInt64(step), "g\(generation) resumes at step \(step)\(agreed.decided ? " (decided)" : "")")
        return step
    }

    func train(from first: Int, state: RendezvousState, rank: Int) async -> Outcome {
        let world = state.members.count, generation = state.generation
        let sampler = DistributedSampler(rows: dataset.train.count, seed: job.seed, world: world, rank: rank, batch: job.batch, rankSeeded: defects.contains(.A3))
        var step = first
        while step < job.steps {
            if job.leaver == name && step >= job.leaveAtStep {
                try? context.disk.writeAll("left", [1])
                try? context.disk.fsync("left")
                context.disk.syncDirectory()
                _ = await rendezvous.leave(name, context: context)
                context.record(.elasticLeave, payload: UInt64(step), "left at step \(step)")
                return .left
            }
            if await membershipMovedOn(from: generation) { return .changed }
            let (epoch, rows) = sampler.batch(step: step)
            observations.batches.append(.init(worker: name, generation: generation, step: step, epoch: epoch, rows: rows))
            await context.sleep(nanoseconds: Int64(job.stepTimeMs) * Nanos.millisecond * Int64(speedPercent) / 100)
            let gradient = LogisticModel.meanGradient(parameters, rows.map { dataset.train[$0] })
            let sent = compressor.compress(gradient)
            let index = observations.reductions.count
            observations.reductions.append(.init(worker: name, generation: generation, step: step, rank: rank, world: world, contribution: sent, reduced: nil))
            guard let sum = await allReduce(sent, generation: generation, step: step, rank: rank, members: state.members) else { return .changed }
            let divisor = Float(defects.contains(.A8) ? (firstWorld ?? world) : world)  // A8: the first generation's size
            let mean = sum.map { $0 / divisor }
            observations.reductions[index].reduced = mean
            observations.revision &+= 1
            for j in parameters.indices { parameters[j] -= job.learningRate * mean[j] }
            step += 1
            context.record(.elasticStep, payload: UInt64(step), "g\(generation) rank \(rank) step \(step)")
            if step % job.checkpointInterval == 0 || step == job.steps {
                await checkpoint(step: step, generation: generation, rank: rank, members: state.members)
            }
        }
        if observations.completedAt == nil {
            observations.completedAt = context.trueTime
            observations.finalAccuracy = LogisticModel.accuracy(parameters, dataset.test)
            observations.finalStep = step
            observations.revision &+= 1
            context.record(.elasticCompleted, payload: UInt64(step), "completed at step \(step), accuracy \(observations.finalAccuracy!)")
        }
        return .completed
    }

    /// Whether the rendezvous moved past `generation` (false when Consul does not answer).
    func membershipMovedOn(from generation: Int) async -> Bool {
        guard let (state, _) = await rendezvous.read(context: context) else { return false }
        return state.generation != generation
    }

    func isAlive(_ peer: String) async -> Bool {
        guard let address = peers[peer] else { return false }
        for _ in 0 ..< 2 {
            if case .success = await context.call(Address(node: address.node, service: "control"), ElasticMessage.ping, timeout: 300 * Nanos.millisecond) { return true }
        }
        return false
    }

    /// After a neighbour stayed silent: false (give up the step) when the membership moved on or the
    /// neighbour is dead (then evicted); true to keep waiting.
    func keepWaiting(on peer: String, generation: Int) async -> Bool {
        if await membershipMovedOn(from: generation) { return false }
        if await isAlive(peer) { return true }
        context.record(.elasticEvict, payload: UInt64(generation), "\(peer) silent in g\(generation): evicted")
        _ = await rendezvous.evict(peer, seenIn: generation, context: context)
        return false
    }

    /// Sends `message` to `peer` until it is acknowledged.
    func deliver(_ message: ElasticMessage, to peer: String, generation: Int) async -> Bool {
        guard let address = peers[peer] else { return false }
        var deadline = context.trueTime + Int64(job.exchangeTimeoutMs) * Nanos.millisecond
        while true {
            if case .success(let envelope) = await context.call(address, message, timeout: 400 * Nanos.millisecond),
               case .ack = envelope.payload as? ElasticMessage { return true }
            if context.trueTime >= deadline {
                guard await keepWaiting(on: peer, generation: generation) else { return false }
                deadline = context.trueTime + Int64(job.exchangeTimeoutMs) * Nanos.millisecond
            }
        }
    }

    /// Acknowledges and keeps what arrived in the `elastic` mailbox.
    func absorb(_ envelope: Envelope) {
        guard let message = envelope.payload as? ElasticMessage else { return }
        context.reply(to: envelope, ElasticMessage.ack)
        switch message {
        case .chunk(let generation, let step, let phase, let values):
            stash[Tag(generation: generation, step: step, phase: phase)] = values
        case .saved(let generation, let step, let rank, let key, let crc):
            notices[Tag(generation: generation, step: step, phase: -1 - rank)] = (key, crc)
        default:
            break
        }
    }

    /// How often a waiting worker looks at what its receiver stashed.
    static let poll = 2 * Nanos.millisecond

    /// Waits for the chunk of `tag` from `peer`; nil when the step is given up.
    func receive(_ tag: Tag, from peer: String) async -> [Float]? {
        var deadline = context.trueTime + Int64(job.exchangeTimeoutMs) * Nanos.millisecond
        while true {
            if let values = stash.removeValue(forKey: tag) { return values }
            if context.trueTime >= deadline {
                guard await keepWaiting(on: peer, generation: tag.generation) else { return nil }
                deadline = context.trueTime + Int64(job.exchangeTimeoutMs) * Nanos.millisecond
                continue
            }
            await context.sleep(nanoseconds: Self.poll)
        }
    }

    /// The ring all-reduce of `vector` over the generation's members (`RingSchedule`): the sum of
    /// every member's vector, or nil when a neighbour failed or the membership changed.
    func allReduce(_ vector: [Float], generation: Int, step: Int, rank: Int, members: [String]) async -> [Float]? {
        let world = members.count
        guard world > 1 else { return vector }
        let successor = members[(rank + 1) % world], predecessor = members[(rank - 1 + world) % world]
        let chunks = TensorSplit.ranges(count: vector.count, parts: world)
        var buffer = vector
        for phase in 0 ..< RingSchedule.phases(world: world) {
            let outgoing = Array(buffer[chunks[RingSchedule.sendChunk(rank: rank, phase: phase, world: world)]])
            async let delivered = deliver(.chunk(generation: generation, step: step, phase: phase, values: outgoing), to: successor, generation: generation)
            let received = await receive(Tag(generation: generation, step: step, phase: phase), from: predecessor)
            guard await delivered, let received else { return nil }
            let range = chunks[RingSchedule.receiveChunk(rank: rank, phase: phase, world: world)]
            guard received.count == range.count else { return nil }
            let reduces = RingSchedule.reduces(phase: phase, world: world)
            for (offset, index) in range.enumerated() { buffer[index] = reduces ? buffer[index] + received[offset] : received[offset] }
        }
        return buffer
    }

    /// The checkpoint of `step`: every rank saves its shard and tells rank 0, which writes the
    /// manifest once the barrier holds every rank's shard (A6: without waiting).
    func checkpoint(step: Int, generation: Int, rank: Int, members: [String]) async {
        let world = members.count
        guard let saved = await checkpoints.saveShard(parameters, step: step, generation: generation, rank: rank, world: world, context: context) else { return }
        // What this rank held when it cut its shard (the tensor-split checker's reference).
        observations.checkpointed["\(generation)/\(step)/\(rank)"] = parameters
        if rank != 0 {
            _ = await deliver(.saved(generation: generation, step: step, rank: rank, key: saved.key, crc: saved.crc), to: members[0], generation: generation)
            return
        }
        var collected: [Int: (key: String, crc: UInt32)] = [0: saved]
        let timeout = defects.contains(.A6) ? 0 : Int64(job.barrierTimeoutMs) * Nanos.millisecond  // A6: the barrier gives up at once
        let deadline = context.trueTime + timeout
        while true {
            for other in 1 ..< world where collected[other] == nil {
                if let notice = notices.removeValue(forKey: Tag(generation: generation, step: step, phase: -1 - other)) { collected[other] = notice }
            }
            guard collected.count < world, context.trueTime < deadline else { break }
            await context.sleep(nanoseconds: Self.poll)
        }
        // Observed from the moment the put leaves: a restart listing the store meanwhile may see it.
        var index: Int?
        let written = await checkpoints.writeManifest(step: step, generation: generation, world: world, collected: collected, context: context) { manifest in
            index = observations.manifests.count
            observations.manifests.append(.init(sentAt: context.trueTime, key: checkpoints.manifestKey(step: step, generation: generation), step: step, generation: generation, world: world,
                                                shardSteps: manifest.shards.map { checkpoints.stepOf(shardKey: $0.key) }))
            observations.revision &+= 1
        }
        guard let manifest = written, let index else {
            context.record(.elasticCheckpointSkipped, payload: UInt64(step), "step \(step): \(collected.count) of \(world) shards at the barrier")
            return
        }
        observations.manifests[index].committedAt = context.trueTime
        observations.revision &+= 1
        context.record(.elasticCheckpoint, payload: UInt64(step), "manifest of step \(step), \(manifest.shards.count) shards")
    }
}

extension TraceKind {
    public static let elasticClaim = TraceKind("elastic.claim")
    public static let elasticResume = TraceKind("elastic.resume")
    public static let elasticStep = TraceKind("elastic.step")
    public static let elasticLeave = TraceKind("elastic.leave")
    public static let elasticEvict = TraceKind("elastic.evict")
    public static let elasticCheckpoint = TraceKind("elastic.checkpoint")
    public static let elasticCheckpointSkipped = TraceKind("elastic.checkpoint_skipped")
    public static let elasticCompleted = TraceKind("elastic.completed")
}
