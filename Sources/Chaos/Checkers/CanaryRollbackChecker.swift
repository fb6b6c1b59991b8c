import SimKernel
import SimServices

/// Canary rollback: once a canary's rollback has completed (the rollout got the answer), its
/// version stops serving the model's traffic without a version. Safety: the registry never
/// commits a canary version active again after it committed its end (rolled back or promoted),
/// in the database's commit order (the change's generation);
/// and, once the faults healed and
/// the replicas had `settle` to catch up (after the heal, or the last node's restart when later): no such request sent `window` after the rollback is
/// answered by the rolled-back version. Liveness: by heal + converge, no running replica holds a
/// rolled-back version as its canary. A step that races the rollback and brings the canary back
/// (B4) leaves both versions serving.
public final class CanaryRollbackChecker: ServingSafetyChecker, Checker {
    public static let name = "canary-rollback"
    public override var name: String { Self.name }
    public static func whyItCannotFire(in scenario: Scenario) -> String? {
        guard scenario.topology.has(role: "inference"), let workload = scenario.workloads.compactMap({ $0 as? ModelDeploymentsWorkload }).first else {
            return "no model versions are deployed to inference replicas in this scenario"
        }
        return workload.canaryPercent > 0 && workload.canaryRollbackEvery > 0 && workload.canaryRollbackEvery <= workload.deploys
            ? nil : "no canary is rolled back in this scenario (canary_percent and canary_rollback_every)"
    }
    let healAt: Int64
    var checked = 0, checkedChanges = 0
    var replicas: [Node] = []
    public init(scenario: Scenario) { healAt = scenario.healAtSeconds * Nanos.second }
    public override func install(on platform: Platform) {
        replicas = platform.topology.nodes(role: "inference").compactMap { platform.node($0.name) }
        super.install(on: platform)
    }
    public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { ["registry"] + nodesMentioned(in: outcome.message, simulation) }

    /// Replicas that still route to a rolled-back canary: (replica, model, version, rolled back at).
    func stale(_ simulation: Simulation) -> [(replica: String, model: String, version: Int64, at: Int64)] {
        let serving = simulation.serving
        var found: [(String, String, Int64, Int64)] = []
        for node in replicas where node.state == .up {
            for (model, canary) in (serving.canaries[node.name] ?? [:]).sorted(by: { $0.key < $1.key }) {
                if let rollback = serving.canaryRollbacks.first(where: { $0.model == model && $0.version == canary.version }) {
                    found.append((node.name, model, canary.version, rollback.time))
                }
            }
        }
        return found
    }

    public func converged(_ simulation: Simulation) -> Bool? { stale(simulation).isEmpty }

    public func livenessMessage(_ simulation: Simulation) -> String {
        stale(simulation).map { "\($0.replica) still sends canary traffic of \($0.model) to v\($0.version), rolled back at \(formatNanoseconds($0.at))" }
            .joined(separator: "; ") + " (both versions serve after the rollback completed)"
    }

    public override func check(_ simulation: Simulation) -> String? {
        guard let serving else { return nil }
        while checkedChanges < serving.canaryChanges.count {
            let change = serving.canaryChanges[checkedChanges]
            checkedChanges += 1
            // Ordered by generation, not by when the registry heard of the commit: a step that
            // committed before the rollback but whose answer came after it did not bring it back
            // (and one heard of before the end may still have committed after it).
            let earlier = serving.canaryChanges[..<(checkedChanges - 1)].filter { $0.model == change.model && $0.version == change.version }
            let pair = change.percent > 0
                ? earlier.last { $0.percent == 0 && $0.generation < change.generation }.map { (end: $0, again: change) }
                : earlier.last { $0.percent > 0 && $0.generation > change.generation }.map { (end: change, again: $0) }
            guard let pair else { continue }
            return "the registry made \(change.model) v\(change.version) the canary again (\(pair.again.percent) %, generation \(pair.again.generation)), "
                + "after its end committed (generation \(pair.end.generation), heard of at \(formatNanoseconds(pair.end.time))): both versions serve after the rollback completed"
        }
        let settledAt = checked < serving.answers.count ? simulation.settled(healAt: healAt) : 0  // only when there are answers to judge
        while checked < serving.answers.count {
            let answer = serving.answers[checked]
            checked += 1
            guard !answer.pinned, answer.status == 200, answer.sentAt >= settledAt, let served = answer.servedVersion,
                  let rollback = serving.canaryRollbacks.first(where: { $0.model == answer.model && $0.version == served }),
                  answer.sentAt > rollback.time + Convergence.window else { continue }
            return "\(answer.replica ?? "?") answered a request for \(answer.model) sent at \(formatNanoseconds(answer.sentAt)) with canary v\(served), "
                + "whose rollback completed at \(formatNanoseconds(rollback.time)): both versions serve"
        }
        return nil
    }
}
