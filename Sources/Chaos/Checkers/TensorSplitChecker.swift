import SimKernel
import SimServices

/// A sharded checkpoint merges back into the parameters it was cut from: every resume from a
/// checkpoint loads, bit for bit, element i from the rank that a correct tensor-parallel split
/// (`TensorSplit` sizes per layer) gives it to, as that rank held it when it saved. When the ranks
/// agree this is the parameters themselves; when they diverged (another defect), it is still what
/// a correct split and merge must return, so only the split is judged. A4 gives the elements at
/// the end of each layer to nobody: they come back as zero.
public final class TensorSplitChecker: ElasticChecker, SafetyChecker, Checker {
    public static let name = "tensor-split"
    public var name: String { Self.name }
    var checked = 0

    /// What a correct split and merge of the ranks' copies gives: element i from its owner's copy.
    /// Nil when a rank's copy was not recorded.
    static func expected(_ copies: [[Float]], layers: [Int]) -> [Float]? {
        let layout = ModelParallelLayout(layers: layers, parts: copies.count)
        var merged = [Float](repeating: 0, count: layout.parameterCount)
        for (rank, copy) in copies.enumerated() {
            guard copy.count == merged.count else { return nil }
            for range in layout.ranges(rank: rank) { for index in range { merged[index] = copy[index] } }
        }
        return merged
    }

    public func check(_ simulation: Simulation) -> String? {
        guard let observations = changedObservations() else { return nil }
        while checked < observations.resumes.count {
            let resume = observations.resumes[checked]
            checked += 1
            guard let generation = resume.checkpointGeneration,
                  let world = observations.manifests.first(where: { $0.generation == generation && $0.step == resume.step })?.world else { continue }
            let copies = (0 ..< world).compactMap { observations.checkpointed["\(generation)/\(resume.step)/\($0)"] }
            guard copies.count == world, let original = Self.expected(copies, layers: job.layers) else { continue }
            let differing = original.indices.filter { $0 >= resume.parameters.count || original[$0].bitPattern != resume.parameters[$0].bitPattern }
            if let first = differing.first {
                let loaded = first < resume.parameters.count ? "\(resume.parameters[first])" : "nothing"
                return "\(resume.worker) resumed generation \(resume.generation) from the step-\(resume.step) checkpoint with \(differing.count) parameter(s) unlike the ones saved: element \(first) is \(loaded), saved \(original[first]) (split-then-merge lost it)"
            }
        }
        return nil
    }
}
