import SimKernel
import SimServices

/// A restart resumes from the newest valid checkpoint: its step is at least the newest complete
/// manifest's acknowledged before it listed the store, and is the step of one sent before the
/// listing's answer came (a manifest in flight during the listing may or may not be seen), or 0
/// (A10 orders the manifests as text). Every member of a generation resumes at the step its
/// first member chose (the members' parameters must agree for the ring to make sense).
public final class ResumeStepChecker: ElasticChecker, SafetyChecker, Checker {
    public static let name = "resume-step"
    public var name: String { Self.name }
    var checked = 0

    public func check(_ simulation: Simulation) -> String? {
        guard let observations = changedObservations() else { return nil }
        while checked < observations.resumes.count {
            let resume = observations.resumes[checked]
            checked += 1
            if let first = observations.resumes[..<(checked - 1)].first(where: { $0.generation == resume.generation }), first.step != resume.step {
                return "\(resume.worker) resumed generation \(resume.generation) at step \(resume.step), \(first.worker) at step \(first.step)"
            }
            guard resume.decided else { continue }
            let valid = observations.manifests.filter(\.complete)
            let newestBefore = valid.filter { ($0.committedAt ?? .max) < resume.listedAt }.map(\.step).max() ?? 0
            let visible = Set(valid.filter { $0.sentAt <= resume.answeredAt }.map(\.step)).union([0])
            if resume.step < newestBefore {
                return "\(resume.worker) resumed generation \(resume.generation) at step \(resume.step); the newest valid checkpoint was step \(newestBefore)"
            }
            if !visible.contains(resume.step) {
                return "\(resume.worker) resumed generation \(resume.generation) at step \(resume.step), of which no valid checkpoint had been written"
            }
        }
        return nil
    }
}
