import SimKernel
import SimServices

/// Latency: no prediction computes for more than ten times the slowest steady-state prediction
/// (`prediction_ms_max`), as each replica measures it from admission to answer (the answer itself
/// may never reach the client: the gateway times out first). A version that takes
/// traffic before its warm-up (B5) makes its first request on each replica pay the cold start.
public final class LatencyChecker: ServingSafetyChecker, Checker {
    public static let name = "latency"
    public override var name: String { Self.name }
    public static func whyItCannotFire(in scenario: Scenario) -> String? {
        guard let workload = scenario.workloads.compactMap({ $0 as? ABTestWorkload }).first else { return "no A/B experiment runs in this scenario" }
        return workload.serving.coldStartMillis > 10 * workload.serving.predictionMillis.upperBound ? nil
            : "the cold start (\(workload.serving.coldStartMillis) ms) is within ten times the steady prediction time: a skipped warm-up cannot show"
    }
    let bound: Int
    var checked = 0
    public init(scenario: Scenario) {
        bound = 10 * (scenario.workloads.compactMap { $0 as? ABTestWorkload }.first?.serving.predictionMillis.upperBound ?? 0)
    }
    public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { nodesMentioned(in: outcome.message, simulation) }

    public override func check(_ simulation: Simulation) -> String? {
        guard let serving else { return nil }
        while checked < serving.computed.count {
            let measured = serving.computed[checked]
            checked += 1
            guard measured.millis > Int64(bound) else { continue }
            let steady = serving.computed.prefix(checked).map(\.millis).sorted()
            return "a prediction on \(measured.model) v\(measured.version) computed for \(measured.millis) ms on \(measured.replica) "
                + "(median so far \(steady[steady.count / 2]) ms, bound \(bound) ms): the version took traffic before it was warmed up"
        }
        return nil
    }
}
