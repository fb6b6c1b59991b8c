import SimKernel

/// Accepts training jobs, has the scheduler place them, collects progress, and when every worker
/// is done evaluates the final model on held-out data.
public enum TrainingService {
    public static func run(configuration: TrainingPlatformConfiguration, dataset: SyntheticDataset, scheduler: Address,
                           shards: [Address], context: ProcessContext) async {
        let inbox = context.mailbox("training")
        var done = Set<Int>()
        let observations = context.simulation.training
        while true {
            let envelope = await inbox.receive()
            guard let message = envelope.payload as? TrainingMessage else { continue }
            switch message {
            case .submit(let job):
                observations.initialLoss = LogisticModel.loss([Float](repeating: 0, count: configuration.features + 1), dataset.test)
                context.simulation.spawn {
                    _ = await context.callUntilAnswered(scheduler, .place(job), timeout: 30 * Nanos.second)
                    context.reply(to: envelope, TrainingMessage.ok)
                }
            case .progress:
                context.reply(to: envelope, TrainingMessage.ok)
            case .done(let worker, _):
                context.reply(to: envelope, TrainingMessage.ok)
                guard done.insert(worker).inserted, done.count == configuration.workers, !observations.jobCompleted else { continue }
                var parameters = [Float](repeating: 0, count: configuration.features + 1)
                for (shard, address) in shards.enumerated() {
                    if case .parameters(_, _, let values) = await context.callUntilAnswered(address, .readShard) {
                        let range = shardRange(shard: shard, shards: shards.count, parameterCount: parameters.count)
                        for (offset, value) in values.enumerated() where offset < range.count { parameters[range.lowerBound + offset] = value }
                    }
                }
                observations.finalAccuracy = LogisticModel.accuracy(parameters, dataset.test)
                observations.finalLoss = LogisticModel.loss(parameters, dataset.test)
                observations.jobCompleted = true
                observations.jobCompletedAt = context.simulation.now
                context.record(.jobCompleted, payload: UInt64(observations.finalLoss!.bitPattern),
                               "accuracy \(observations.finalAccuracy!) loss \(observations.finalLoss!)")
            default:
                break
            }
        }
    }
}

extension TraceKind {
    public static let jobCompleted = TraceKind("job.completed")
}
