import SimKernel
import SimServices

/// A checkpoint is taken with every worker at its step: each manifest names one shard per rank of
/// its world, all saved at the manifest's step (A6's barrier gives up and takes what the store has).
public final class CheckpointBarrierChecker: ElasticChecker, SafetyChecker, Checker {
    public static let name = "checkpoint-barrier"
    public var name: String { Self.name }
    var checked = 0

    public func check(_ simulation: Simulation) -> String? {
        guard let observations = changedObservations() else { return nil }
        while checked < observations.manifests.count {
            let manifest = observations.manifests[checked]
            checked += 1
            if !manifest.complete {
                return "manifest \(manifest.key) (generation \(manifest.generation), world \(manifest.world)) names shards of steps \(manifest.shardSteps.map(String.init).joined(separator: ", ")): workers were not at step \(manifest.step) together"
            }
        }
        return nil
    }
}
