import SimKernel
import SimServices

/// A sharded checkpoint merges back into the parameters it was cut from, bit for bit: every
/// resume from a checkpoint loads exactly what rank 0 held at that step (A4 loses the elements at
/// the end of each layer that the split gives to nobody).
public final class TensorSplitChecker: ElasticChecker, SafetyChecker, Checker {
    public static let name = "tensor-split"
    public var name: String { Self.name }
    var checked = 0

    public func check(_ simulation: Simulation) -> String? {
        guard let observations = changedObservations() else { return nil }
        while checked < observations.resumes.count {
            let resume = observations.resumes[checked]
            checked += 1
            guard let generation = resume.checkpointGeneration, let original = observations.checkpointed["\(generation)/\(resume.step)"] else { continue }
            let differing = original.indices.filter { $0 >= resume.parameters.count || original[$0].bitPattern != resume.parameters[$0].bitPattern }
            if let first = differing.first {
                let loaded = first < resume.parameters.count ? "\(resume.parameters[first])" : "nothing"
                return "\(resume.worker) resumed generation \(resume.generation) from the step-\(resume.step) checkpoint with \(differing.count) parameter(s) unlike the ones saved: element \(first) is \(loaded), saved \(original[first]) (split-then-merge lost it)"
            }
        }
        return nil
    }
}
