import SimKernel
import SimServices

/// Batch answers: a request admitted to a batch on a replica that stays up is answered (or
/// refused) within the batch's longest possible life: its wait, a cold start, the slowest compute
/// and a second besides. A batch dropped when its wait ends (B2) leaves its requests unanswered.
public final class BatchAnswersChecker: ServingSafetyChecker, Checker {
    public static let name = "batch-answers"
    public override var name: String { Self.name }
    /// Runs after every event: a batch left behind is judged by the clock (its deadline passed),
    /// not by a change.
    public override var runsOnChangesOnly: Bool { false }
    public static func whyItCannotFire(in scenario: Scenario) -> String? {
        guard scenario.topology.has(role: "inference") else { return "no inference replicas in this scenario" }
        let serving = scenario.servingConfiguration
        return serving.batchMaxSize > 1 ? nil : "request batching is off in this scenario (batch_max_size 1)"
    }
    let deadline: Int64
    var nodes: [String: Node] = [:]
    var nextLook: Int64 = 0
    public init(scenario: Scenario) {
        let serving = scenario.servingConfiguration
        deadline = Int64(serving.batchMaxWaitMillis + serving.coldStartMillis + serving.predictionMillis.upperBound + 1000) * Nanos.millisecond
            + Int64(serving.batchMaxSize) * Int64(serving.batchRowMicros) * 1000
    }
    public override func install(on platform: Platform) {
        for node in platform.topology.nodes(role: "inference") { nodes[node.name] = platform.node(node.name) }
        super.install(on: platform)
    }
    public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { nodesMentioned(in: outcome.message, simulation) }

    public override func check(_ simulation: Simulation) -> String? {
        // Looked at every 100 ms of virtual time (the deadline is seconds long): a cheap check
        // after every event.
        let now = simulation.now
        guard let serving, !serving.batchWaiting.isEmpty, now >= nextLook else { return nil }
        nextLook = now + 100 * Nanos.millisecond
        let late = serving.batchWaiting.filter { entry in
            guard let node = nodes[entry.value.replica], node.state == .up, node.epoch == entry.value.epoch else { return false }
            return now - entry.value.admittedAt > deadline
        }
        guard let first = late.min(by: { ($0.value.admittedAt, $0.key) < ($1.value.admittedAt, $1.key) }) else { return nil }
        return "a request admitted to batch \(first.value.batch) on \(first.value.replica) at \(formatNanoseconds(first.value.admittedAt)) has no answer after "
            + "\((now - first.value.admittedAt) / Nanos.millisecond) ms, longer than a batch can live (\(deadline / Nanos.millisecond) ms: its wait, a cold start, the slowest compute and 1 s); "
            + "\(late.count) such request(s)"
    }
}
