import SimKernel

/// Which training rows each rank of a data-parallel job trains on (PyTorch's `DistributedSampler`):
/// one permutation of the rows per (seed, epoch), shared by every rank; rank r of `world` takes
/// every world-th position starting at r, so in one epoch no row goes to two ranks. Step `step`
/// of the epoch is the rank's `batch` rows from position `step * batch` of its part.
///
/// Defect A3 (`rankSeeded`): each rank shuffles with a seed of its own and takes the first
/// 1/world of its permutation: the parts overlap, and some rows are trained on twice an epoch.
public struct DistributedSampler: Sendable, Equatable {
    public var rows: Int
    public var seed: UInt64
    public var world: Int
    public var rank: Int
    public var batch: Int
    public var rankSeeded: Bool

    public init(rows: Int, seed: UInt64, world: Int, rank: Int, batch: Int, rankSeeded: Bool = false) {
        precondition(world > 0 && rank >= 0 && rank < world && batch > 0 && rows >= world * batch,
                     "sampler for rank \(rank) of \(world), batch \(batch), over \(rows) rows")
        self.rows = rows
        self.seed = seed
        self.world = world
        self.rank = rank
        self.batch = batch
        self.rankSeeded = rankSeeded
    }

    /// Optimizer steps in an epoch (the incomplete last global batch is dropped).
    public var stepsPerEpoch: Int { rows / (world * batch) }

    /// The rows of this rank in `epoch`, in training order.
    public func part(epoch: Int) -> [Int] {
        var order = Array(0 ..< rows)
        var random = SimRandom(rootSeed: seed, stream: rankSeeded ? "sampler/\(epoch)/rank-\(rank)" : "sampler/\(epoch)")
        random.shuffle(&order)
        if rankSeeded { return Array(order.prefix(rows / world)) }  // A3
        return Array(stride(from: rank, to: rows, by: world).map { order[$0] })
    }

    /// The rows of global step `step` (counted from the start of training) for this rank, with
    /// the epoch they belong to.
    public func batch(step: Int) -> (epoch: Int, rows: [Int]) {
        let epoch = step / stepsPerEpoch, within = step % stepsPerEpoch
        return (epoch, Array(part(epoch: epoch)[within * batch ..< (within + 1) * batch]))
    }
}
