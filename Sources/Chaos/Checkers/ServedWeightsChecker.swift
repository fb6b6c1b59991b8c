import SimKernel
import SimServices

/// Served weights: every prediction answered 200 is its version's weights applied to its own
/// input, as an offline replay recomputes it from the registered artifact. An answer computed by
/// another version (a swap in place, B9; a rollback that loaded the wrong weights, M1; a cache
/// entry of another version, B6, or of the old Production version, H6) or for another input (a
/// cache key collision, H3) fails it; the message names the version whose weights it matches.
public final class ServedWeightsChecker: ServingSafetyChecker, Checker {
    public static let name = "served-weights"
    public override var name: String { Self.name }
    public static func whyItCannotFire(in scenario: Scenario) -> String? {
        scenario.topology.has(role: "inference") && scenario.has(workload: ModelDeploymentsWorkload.name)
            ? nil : "no predictions with recorded inputs are sent to model versions in this scenario"
    }
    let workload: ModelDeploymentsWorkload?
    var checked = 0
    public init(scenario: Scenario) { workload = scenario.workloads.compactMap { $0 as? ModelDeploymentsWorkload }.first }
    public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { ["redis"] + nodesMentioned(in: outcome.message, simulation) }

    /// The probability `version`'s registered weights give for `inputs`.
    func replay(_ version: Int64, _ inputs: [Float]) -> Float? {
        guard let workload else { return nil }
        let weights = workload.artifact(version: version).weights
        guard weights.count == inputs.count + 1 else { return nil }
        return LogisticModel.sigmoid(LogisticModel.score(weights, inputs))
    }

    public override func check(_ simulation: Simulation) -> String? {
        guard let serving else { return nil }
        while checked < serving.answers.count {
            let answer = serving.answers[checked]
            checked += 1
            guard answer.status == 200, let p = answer.p, let inputs = answer.inputs, let served = answer.servedVersion,
                  let expected = replay(served, inputs), abs(expected - p) > 1e-6 else { continue }
            let newest = serving.deployments.last?.version ?? served
            let other = (1 ... Swift.max(1, newest)).first { $0 != served && replay($0, inputs).map { abs($0 - p) <= 1e-6 } ?? false }
            let input = inputs.map { "\(Int($0))" }.joined(separator: ",")
            return "\(answer.model) v\(served) on \(answer.replica ?? "?") answered p=\(p) for input \(input) (sent at \(formatNanoseconds(answer.sentAt))), "
                + "but v\(served)'s weights give \(expected): "
                + (other.map { "the answer is v\($0)'s (computed by another version)" } ?? "no version's weights give it for this input (a result computed for another input)")
        }
        return nil
    }
}
