import SimKernel
import SimServices

/// Output type: every answer of a version that declares a class label carries a label of the
/// declared type, an integer 0 or 1 that agrees with its probability (1 when p >= 0.5). A label
/// formatted as a float (B8: `1.0`) fails it.
public final class OutputTypeChecker: ServingSafetyChecker, Checker {
    public static let name = "output-type"
    public override var name: String { Self.name }
    public static func whyItCannotFire(in scenario: Scenario) -> String? {
        guard let workload = scenario.workloads.compactMap({ $0 as? ABTestWorkload }).first else { return "no A/B experiment runs in this scenario" }
        return workload.parsedArms.contains { workload.artifact(version: $0.version).output == .label } ? nil : "no version of the experiment declares a class label"
    }
    let workload: ABTestWorkload?
    var checked = 0
    public init(scenario: Scenario) { workload = scenario.workloads.compactMap { $0 as? ABTestWorkload }.first }
    public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { nodesMentioned(in: outcome.message, simulation) }

    public override func check(_ simulation: Simulation) -> String? {
        guard let serving, let workload else { return nil }
        while checked < serving.answers.count {
            let answer = serving.answers[checked]
            checked += 1
            guard answer.status == 200, let served = answer.servedVersion, workload.artifact(version: served).output == .label else { continue }
            guard let text = answer.label, let label = Int(text), label == 0 || label == 1 else {
                return "\(answer.model) v\(served) on \(answer.replica ?? "?") declares an integer class label, but answered label '\(answer.label ?? "none")' (p=\(answer.p.map { "\($0)" } ?? "?"))"
            }
            if let p = answer.p, (p >= 0.5) != (label == 1) {
                return "\(answer.model) v\(served) on \(answer.replica ?? "?") answered label \(label) for p=\(p)"
            }
        }
        return nil
    }
}
