import SimKernel
import SimServices

/// Training-data lineage holds end to end: the model version the client registered from a run
/// answers, in `registry/lineage`, that run, the dataset digest the client stored and trained on,
/// and the run's code version (the chain dataset version -> run -> model version). The registry's
/// invariant checks every such version against experiments_db besides.
public final class ModelLineageChecker: TrainingRunsChecker, SafetyChecker, Checker {
    public static let name = "model-lineage"
    public var name: String { Self.name }
    var done = false
    public func check(_ simulation: Simulation) -> String? {
        guard !done, let observations, let registered = observations.modelLineage else { return nil }
        done = true
        if registered.status == 404 {
            // The registration with its run committed (200), so the version has a lineage to answer.
            return "ctr-model v\(registered.version) was registered from run \(registered.run), but registry/lineage answers 404 (no lineage)"
        }
        let answered = registered.answered
        guard registered.status == 200 else { return nil }  // unavailable, overloaded or lost: nothing to judge
        let expected = ["run": "\(registered.run)", "dataset": registered.dataset, "code": registered.code]
        for (field, value) in expected.sorted(by: { $0.key < $1.key }) where answered[field] != value {
            return "ctr-model v\(registered.version) was registered from run \(registered.run), but its lineage answers \(field) '\(answered[field] ?? "none")' where '\(value)' was trained on"
        }
        return nil
    }

    override public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { ["registry", "experiments"] }
}
