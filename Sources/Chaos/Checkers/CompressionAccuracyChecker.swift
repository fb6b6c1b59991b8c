import SimKernel
import SimServices

/// Compressed training keeps the uncompressed run's accuracy: the job's final test accuracy is at
/// least the reference's minus `margin`. The reference is the same job trained in this process
/// without compression, synchronously, by the initial workers and without faults (plain data-
/// parallel SGD: the mean gradient of the ranks' batches per step). Elastic runs differ from it
/// by their restarts and world sizes; `margin` covers that (without defects the job ended at
/// 0.852-0.857 on the seeds sampled, and 2,000 swarm seeds pass: `docs/elastic-training.md`)
/// while a compressor that drops what it holds back ends at 0.77-0.80.
public final class CompressionAccuracyChecker: ElasticChecker, SafetyChecker, Checker {
    public static let name = "compression-accuracy"
    public static let margin = 0.03
    public var name: String { Self.name }
    var reference: Double?
    var judged = false

    public required init(scenario: Scenario) {
        super.init(scenario: scenario)
        let initial = scenario.topology.nodes(role: "elastic_worker").filter { $0.name != job.lateJoiner }.count
        reference = Self.referenceAccuracy(job, world: Swift.max(1, initial))
    }

    /// Uncompressed synchronous data-parallel training of `job` by `world` ranks: test accuracy.
    public static func referenceAccuracy(_ job: ElasticJobConfiguration, world: Int) -> Double {
        let dataset = SyntheticDataset.cached(seed: job.datasetSeed, featureCount: job.features)
        var parameters = [Float](repeating: 0, count: job.parameterCount)
        for step in 0 ..< job.steps {
            var sum = [Double](repeating: 0, count: parameters.count)
            for rank in 0 ..< world {
                let rows = DistributedSampler(rows: dataset.train.count, seed: job.seed, world: world, rank: rank, batch: job.batch).batch(step: step).rows
                for (j, value) in LogisticModel.meanGradient(parameters, rows.map { dataset.train[$0] }).enumerated() { sum[j] += Double(value) }
            }
            for j in parameters.indices { parameters[j] -= job.learningRate * Float(sum[j] / Double(world)) }
        }
        return LogisticModel.accuracy(parameters, dataset.test)
    }

    public func check(_ simulation: Simulation) -> String? {
        guard !judged, let observations = changedObservations(), let accuracy = observations.finalAccuracy, let reference else { return nil }
        judged = true
        if accuracy < reference - Self.margin {
            return "the job ended at test accuracy \(accuracy), below the uncompressed reference's \(reference) - \(Self.margin)"
        }
        return nil
    }
}
