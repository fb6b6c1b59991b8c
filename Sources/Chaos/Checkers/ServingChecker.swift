import SimKernel
import SimServices

/// Serving: every prediction a client sent and got an answer to was answered by the version it
/// asked for, or refused with a client error or an unavailability (503) — never an internal
/// error. A model version unloaded while a request used it (H1) fails that request mid-prediction
/// with an internal error.
public final class ServingChecker: ServingSafetyChecker, Checker {
    public static let name = "serving"
    public override var name: String { Self.name }
    public static func whyItCannotFire(in scenario: Scenario) -> String? {
        scenario.topology.has(role: "inference") && (scenario.has(workload: ModelDeploymentsWorkload.name) || scenario.has(workload: ABTestWorkload.name))
            ? nil : "no predictions are sent to model versions in this scenario"
    }
    var checked = 0
    public init(scenario: Scenario) {}
    public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { ["gateway"] + nodesMentioned(in: outcome.message, simulation) }

    public override func check(_ simulation: Simulation) -> String? {
        guard let serving else { return nil }
        while checked < serving.answers.count {
            let answer = serving.answers[checked]
            checked += 1
            let asked = "\(answer.model) v\(answer.version.map(String.init) ?? "newest")"
            if answer.isInternalError {
                return "a prediction on \(asked) sent at \(formatNanoseconds(answer.sentAt)) failed with HTTP \(answer.status): \(answer.error ?? "no reason given")"
            }
            if answer.status == 200, let replica = answer.replica, serving.replicas[replica] == nil {
                return "a prediction on \(asked) was answered by \(replica), which is not an inference replica"
            }
        }
        return nil
    }
}
