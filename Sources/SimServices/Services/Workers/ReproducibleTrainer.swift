import SimKernel

/// The workers' side of a reproducible training run (`TrainingRuns`): consumes `training.runs`
/// (group `trainers`), fetches the dataset version from the object store, refuses it unless its
/// SHA-256 is the digest the run names, and trains the MLP (`ReproducibleTraining`) step by step:
/// 5 ms of compute a step, each step's loss and learning rate logged to experiments, each epoch's
/// validation AUC too; once every point is acknowledged the run is finished in experiments. The
/// offset is committed after the run finished: a worker crash trains the run again from the start
/// (same seed, same hashes); a run already finished is skipped.
///
/// The defects' draws: M5, M9 and M6 switch `ReproducibleTraining`'s paths; E3 arrives as a job
/// without its seed, and the worker's fallback is a seed of its own process.
enum ReproducibleTrainer {
    static let stepTime = 5 * Nanos.millisecond

    static func consume(_ runtime: ServiceRuntime) async {
        await runtime.consume(group: "trainers", topic: TrainingRuns.topic) { record in
            guard let spec = TrainingRuns.decode(record.value) else { return }
            await train(runtime, spec)
        }
    }

    static func train(_ runtime: ServiceRuntime, _ spec: ReproducibleTraining.Spec) async {
        let context = runtime.context, observations = context.simulation.trainingRuns
        if let view = await runtime.callThroughGateway(HTTPRequest("GET", "experiments/runs", body: ["run": "\(spec.run)"]), attempts: 20),
           view.body["status"] != "running" { return }
        guard let bytes = await fetchDataset(runtime, spec.dataset) else {
            await finish(runtime, spec, status: "failed", result: "dataset \(spec.dataset) cannot be read from the object store")
            return
        }
        guard DatasetVersion.digest(bytes) == spec.dataset, let rows = DatasetVersion.decode(bytes) else {
            await finish(runtime, spec, status: "failed", result: "dataset bytes do not match digest \(spec.dataset)")
            return
        }
        if let problem = ReproducibleTraining.problem(spec, rowCount: rows.count) {
            await finish(runtime, spec, status: "failed", result: problem)
            return
        }
        guard let started = await runtime.callThroughGateway(HTTPRequest("POST", "experiments/runs/attempt", body: ["run": "\(spec.run)"])),
              let attemptNumber = started.body["attempt"].flatMap({ Int64($0) }) else { return }
        observations.attempts[spec.name, default: 0] += 1
        let attempt = observations.attempts[spec.name] ?? 1
        let defects = runtime.defects
        let variant = ReproducibleTraining.Variant(unshuffledEpochs: defects.contains(.M5), unseededAugmenter: defects.contains(.M9), restartLate: defects.contains(.M6),
                                                    leakBatchStatistics: defects.contains(.M3), applyNonFinite: defects.contains(.M8))
        let loop = ReproducibleTraining(spec: spec, rows: rows, variant: variant, entropy: { context.withRandom { $0.next() } })
        context.record(.trainingRunStarted, payload: loop.seed, "run \(spec.name) attempt \(attempt): seed \(loop.seed), \(loop.totalSteps) steps")
        let logger = MetricSender(runtime: runtime, run: spec.run, name: spec.name, attempt: attemptNumber)
        var lastEpoch = -1
        while let step = loop.nextStep() {
            if step.epoch != lastEpoch {
                lastEpoch = step.epoch
                observations.orders.append(.init(name: spec.name, attempt: attempt, epoch: step.epoch, order: orderOf(loop, epoch: step.epoch), rows: loop.train.count))
            }
            observations.steps.append(.init(name: spec.name, attempt: attempt, record: step))
            observations.revision &+= 1
            logger.send(step: Int64(step.step), ["loss": Double(step.loss), "lr": step.rate])
            await context.sleep(nanoseconds: stepTime)
            if loop.epoch != step.epoch {
                let evaluation = loop.evaluate()
                observations.evaluations.append(.init(name: spec.name, attempt: attempt, evaluation: evaluation))
                observations.revision &+= 1
                logger.send(step: Int64(evaluation.epoch), ["val_auc": evaluation.auc])
            }
        }
        await logger.drained()
        let auc = observations.evaluations.last { $0.name == spec.name && $0.attempt == attempt }?.evaluation.auc ?? 0
        await finish(runtime, spec, status: "finished", result: "auc=\(auc) state=\(loop.model.stateHash)", attempt: attemptNumber)
        observations.finished.append((spec.name, auc, loop.model.stateHash))
        observations.revision &+= 1
        context.record(.trainingRunFinished, payload: stableHash(loop.model.stateHash), "run \(spec.name): AUC \(auc), state \(loop.model.stateHash.prefix(16))")
    }

    /// The order the epoch that `loop` just started trains in (its first step already taken).
    static func orderOf(_ loop: ReproducibleTraining, epoch: Int) -> [Int] {
        loop.epoch == epoch ? loop.order : ReproducibleTraining.order(count: loop.train.count, seed: loop.seed, epoch: loop.variant.unshuffledEpochs ? nil : epoch)
    }

    static func fetchDataset(_ runtime: ServiceRuntime, _ digest: String) async -> [UInt8]? {
        var backoff = 50 * Nanos.millisecond
        for _ in 0 ..< 30 {
            switch await runtime.objectStore.request(.get(bucket: DatasetVersions.bucket, key: digest), context: runtime.context) {
            case .success(.object(let bytes, _)): return bytes
            case .success(.error(.noSuchKey)): return nil
            default:
                await runtime.context.sleep(nanoseconds: backoff)
                backoff = Swift.min(2 * Nanos.second, backoff * 2)
            }
        }
        return nil
    }

    /// Finishes the run in experiments; as `attempt` when given (a superseded attempt's finish is ignored).
    static func finish(_ runtime: ServiceRuntime, _ spec: ReproducibleTraining.Spec, status: String, result: String, attempt: Int64? = nil) async {
        let body = FormEncoder.encode(ExperimentsService.FinishRun(run: spec.run, status: status, result: result, attempt: attempt))
        _ = await post(runtime, HTTPRequest("POST", "experiments/runs/finish", body: body))
    }

    /// Sends `request` through the gateway until it gets a definitive answer: retried on silence,
    /// 5xx and 429, never on another 4xx (a refused request stays refused; retrying it for ever
    /// would hold up the run and the consumer behind it).
    static func post(_ runtime: ServiceRuntime, _ request: HTTPRequest) async -> HTTPResponse? {
        await runtime.askThroughGateway(request) { $0.status < 500 && $0.status != 429 }
    }

    /// Logs metric points without holding up training (as an asynchronous logger does), each
    /// request retried until experiments acknowledges it; `drained` waits for all of them.
    final class MetricSender: @unchecked Sendable {  // confined to its simulation's thread
        let runtime: ServiceRuntime
        let run: Int64
        let name: String
        let attempt: Int64
        var inFlight = 0

        init(runtime: ServiceRuntime, run: Int64, name: String, attempt: Int64) {
            self.attempt = attempt
            self.runtime = runtime
            self.run = run
            self.name = name
        }

        func send(step: Int64, _ all: [String: Double]) {
            // Experiments refuses non-finite values (and would be asked again for ever): a NaN
            // loss is not logged; the checkers see it in the step records.
            let values = all.filter { $0.value.isFinite }
            guard !values.isEmpty else { return }
            inFlight += 1
            let body = FormEncoder.encode(MetricLog.Log(run: run, step: step, metric: values, timestampMs: MetricLog.utcMillis(runtime.context), attempt: attempt))
            runtime.context.simulation.spawn { [self] in
                if let answer = await ReproducibleTrainer.post(runtime, HTTPRequest("POST", "experiments/metrics", body: body)), answer.status == 200 {
                    let observations = runtime.context.simulation.trainingRuns
                    for key in values.keys.sorted() where !(observations.acknowledged[name]?.contains("\(key)@\(step)") ?? false) {
                        observations.acknowledged[name, default: []].append("\(key)@\(step)")
                    }
                }
                inFlight -= 1
            }
        }

        func drained() async {
            while inFlight > 0 { await runtime.context.sleep(nanoseconds: 10 * Nanos.millisecond) }
        }
    }
}

extension TraceKind {
    public static let trainingRunStarted = TraceKind("worker.run_started")
    public static let trainingRunFinished = TraceKind("worker.run_finished")
}
