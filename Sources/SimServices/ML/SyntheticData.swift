import SimKernel
import Synchronization

/// A labelled example for binary classification.
public struct Example: Sendable, Hashable {
    public var features: [Float]
    public var label: Float
}

/// Seeded synthetic data: features standard normal, label 1 when a hidden linear score plus
/// Gaussian noise is positive. A linear model can reach about 90 % accuracy on it (the noise
/// makes some labels unpredictable), so "learned something" is measurable.
public struct SyntheticDataset: Sendable {
    public let featureCount: Int
    public let train: [Example]
    public let test: [Example]
    /// The hidden weights (the last entry is the bias).
    public let trueWeights: [Float]

    public init(seed: UInt64, featureCount: Int = 8, trainCount: Int = 2048, testCount: Int = 1000, noise: Double = 0.5) {
        self.featureCount = featureCount
        var random = SimRandom(rootSeed: seed, stream: "dataset")
        var weights: [Float] = (0 ..< featureCount).map { _ in Float(random.normal()) }
        weights.append(Float(random.normal() * 0.5))
        func example() -> Example {
            let x = (0 ..< featureCount).map { _ in Float(random.normal()) }
            var score = Double(weights[featureCount])
            for j in 0 ..< featureCount { score += Double(weights[j]) * Double(x[j]) }
            score += random.normal() * noise * 2
            return Example(features: x, label: score > 0 ? 1 : 0)
        }
        train = (0 ..< trainCount).map { _ in example() }
        test = (0 ..< testCount).map { _ in example() }
        trueWeights = weights
    }

    /// The data set for (seed, featureCount), generated once per process: it is a pure function
    /// of its seed, so sharing it between runs (and threads) changes nothing but the time it takes.
    public static func cached(seed: UInt64, featureCount: Int) -> SyntheticDataset {
        let key = "\(seed)/\(featureCount)"
        if let hit = datasetCache.withLock({ $0[key] }) { return hit }
        let made = SyntheticDataset(seed: seed, featureCount: featureCount)
        datasetCache.withLock { $0[key] = made }
        return made
    }

    /// Indices of worker `worker`'s shard of the training set, shuffled for `epoch` from
    /// (seed, worker, epoch): every epoch sees a new order, and the same seed the same one.
    public func shardOrder(worker: Int, workers: Int, epoch: Int, seed: UInt64) -> [Int] {
        var indices = Array(stride(from: worker, to: train.count, by: workers))
        var random = SimRandom(rootSeed: seed, stream: "shuffle/\(worker)/\(epoch)")
        random.shuffle(&indices)
        return indices
    }
}

/// determinism-ok: a cache of pure values keyed by their inputs; lookups only, never iterated.
let datasetCache = Mutex<[String: SyntheticDataset]>([:])
