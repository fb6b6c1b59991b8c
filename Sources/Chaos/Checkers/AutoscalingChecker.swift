import SimKernel
import SimServices

/// Autoscaling: every scaling decision rests on samples no older than the metrics' window (three
/// seconds) when it was made, as the replicas' own record of when they published each sample
/// says. An autoscaler that keeps deciding on an old read (B10) scales on stale metrics.
public final class AutoscalingChecker: ServingSafetyChecker, Checker {
    public static let name = "autoscaling"
    public override var name: String { Self.name }
    public static func whyItCannotFire(in scenario: Scenario) -> String? {
        let serving = scenario.servingConfiguration
        return scenario.topology.has(role: "inference") && scenario.topology.has(role: "scheduler") && serving.autoscaleTargetPerReplica > 0
            ? nil : "inference is not autoscaled in this scenario (autoscale_target_rps)"
    }
    static let window = 3 * Nanos.second
    var checked = 0
    public init(scenario: Scenario) {}
    public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { ["scheduler", "redis"] + nodesMentioned(in: outcome.message, simulation) }

    public override func check(_ simulation: Simulation) -> String? {
        guard let serving else { return nil }
        while checked < serving.scalingDecisions.count {
            let decision = serving.scalingDecisions[checked]
            checked += 1
            for used in decision.samples {
                guard let published = serving.metricSamples[used.instance]?.first(where: { $0.sequence == used.sequence })?.time else { continue }
                let age = decision.time - published
                if age > Self.window {
                    return "the autoscaler scaled inference to \(decision.replicas) at \(formatNanoseconds(decision.time)) on \(used.instance)'s sample \(used.sequence), "
                        + "published at \(formatNanoseconds(published)): \(age / Nanos.millisecond) ms old, beyond the \(Self.window / Nanos.millisecond) ms window"
                }
            }
        }
        return nil
    }
}
