import SimKernel

/// The all-reduce coordinator of the training cluster's checkpoint barrier (it runs beside
/// parameter-server shard 0): each round (a checkpoint clock) sums the vectors the workers submit,
/// once per worker, and answers who has arrived and the sums so far. A worker leaves the barrier
/// when every worker has arrived, or when the barrier times out with some missing
/// (`TrainingWorker.barrierTimeout`).
///
/// Its state is volatile, as a coordinator's in-memory reduction buffer is: a crash of its node
/// forgets the open rounds; the workers still waiting see themselves missing from the round and
/// submit again, those that had left do not (the rest time out with partial sums).
///
/// The coordinator's two locks live in the kernel's lock manager and are taken by the workers
/// around their calls (`TrainingWorker.allReduce`): the **worker lock** (`allreduce/workers`,
/// the round's membership) and the **aggregation lock** (`allreduce/aggregation`, the sum
/// buffer). Each message is handled atomically here; the locks stand for the coordinator's own,
/// which the incident's thread dumps show held by worker threads calling into it, and live in
/// the lock manager so that its wait-for graph names them.
/// Submitting takes the worker lock, then the aggregation lock; reading the reduced values takes
/// them in the same order. A2 reads in the other order, the ABBA of the incident.
final class AllReduceCoordinator {
    /// One round: the workers that arrived, in arrival order, and the element-wise sums.
    struct Round {
        var arrived: [Int] = []
        var sums: [Float] = []
    }

    static let workerLock = "allreduce/workers"
    static let aggregationLock = "allreduce/aggregation"

    let context: ProcessContext
    let workers: Int
    /// Open rounds by checkpoint clock (looked up only, never iterated).
    var rounds: [Int: Round] = [:]

    init(context: ProcessContext, workers: Int) {
        self.context = context
        self.workers = workers
    }

    /// Answers `.reduceSubmit` and `.reduceRead`; false for any other message.
    func handle(_ message: TrainingMessage, _ envelope: Envelope) -> Bool {
        switch message {
        case .reduceSubmit(let round, let worker, let values):
            var state = rounds[round] ?? Round()
            if !state.arrived.contains(worker) {  // a retried submit is counted once
                if state.sums.isEmpty { state.sums = [Float](repeating: 0, count: values.count) }
                precondition(values.count == state.sums.count, "round \(round): worker \(worker) submitted \(values.count) values, the round sums \(state.sums.count)")
                for i in values.indices { state.sums[i] += values[i] }
                state.arrived.append(worker)
                rounds[round] = state
                context.record(.allReduceArrive, payload: UInt64(round) << 32 | UInt64(state.arrived.count),
                               "round \(round): worker \(worker) arrived, barrier \(state.arrived.count)/\(workers)")
                context.simulation.training.barrierArrivals.append((round, worker, state.arrived.count))
            }
            context.reply(to: envelope, TrainingMessage.reduced(round: round, arrived: state.arrived, sums: state.sums))
            return true
        case .reduceRead(let round):
            let state = rounds[round] ?? Round()
            context.reply(to: envelope, TrainingMessage.reduced(round: round, arrived: state.arrived, sums: state.sums))
            return true
        default:
            return false
        }
    }
}

extension TraceKind {
    public static let allReduceArrive = TraceKind("allreduce.arrive")
    public static let allReduceTimeout = TraceKind("allreduce.timeout")
}
