import SimKernel
import SimServices

/// Data-parallel shards are disjoint: within one epoch of one generation no training row is
/// sampled by two workers (A3's rank-seeded permutations overlap). A later generation re-trains
/// rows of an earlier one legitimately: it resumed from a checkpoint.
public final class DataShardsChecker: ElasticChecker, SafetyChecker, Checker {
    public static let name = "data-shards"
    public var name: String { Self.name }
    var owner: [String: String] = [:]
    var checked = 0

    public func check(_ simulation: Simulation) -> String? {
        guard let observations = changedObservations() else { return nil }
        while checked < observations.batches.count {
            let batch = observations.batches[checked]
            checked += 1
            for row in batch.rows {
                let key = "\(batch.generation)/\(batch.epoch)/\(row)"
                if let other = owner[key], other != batch.worker {
                    return "row \(row) sampled by \(other) and \(batch.worker) in epoch \(batch.epoch) of generation \(batch.generation) (step \(batch.step)): the ranks' shards overlap"
                }
                owner[key] = batch.worker
            }
        }
        return nil
    }
}
