import SimKernel
import SimServices

/// Model memory: on every inference replica, the node's resident memory is exactly its base
/// memory plus the versions its cache holds, the cache holds at most its capacity (unless every
/// version beyond it is in use), and no replica is killed for running out of memory. A model
/// version evicted but still referenced (B1) shows as memory the cache no longer accounts for.
public final class ModelMemoryChecker: ServingSafetyChecker, Checker {
    public static let name = "model-memory"
    public override var name: String { Self.name }
    public static func whyItCannotFire(in scenario: Scenario) -> String? {
        scenario.topology.has(role: "inference") && scenario.has(workload: ModelDeploymentsWorkload.name)
            ? nil : "no model versions are deployed to inference replicas in this scenario"
    }
    var replicas: [Node] = []
    var crashes: [Int] = []
    var checkedRevision = UInt64.max
    /// Deployments the workload makes: the liveness goal is every one of them deployed and the
    /// newest loaded on every running replica.
    let deploys: Int
    public init(scenario: Scenario) {
        deploys = scenario.workloads.compactMap { $0 as? ModelDeploymentsWorkload }.first?.deploys ?? 0
    }

    public func converged(_ simulation: Simulation) -> Bool? {
        let serving = simulation.serving
        guard serving.deployments.count + serving.canaryRollbacks.count >= deploys, let newest = serving.deployments.last else { return false }
        let key = ModelKey(newest.model, newest.version)
        return replicas.allSatisfy { node in
            node.state != .up || (serving.replicas[node.name].map { $0.epoch == node.epoch && $0.cached.contains { $0.key == key } } ?? false)
        }
    }

    public func livenessMessage(_ simulation: Simulation) -> String {
        let serving = simulation.serving
        guard serving.deployments.count + serving.canaryRollbacks.count >= deploys, let newest = serving.deployments.last else {
            return "\(serving.deployments.count + serving.canaryRollbacks.count) of \(deploys) model versions were deployed (or rolled back as canaries)"
        }
        let key = ModelKey(newest.model, newest.version)
        let missing = replicas.filter { node in node.state == .up && !(serving.replicas[node.name]?.cached.contains { $0.key == key } ?? false) }.map(\.name)
        return "\(key), the newest deployment, is not loaded on \(missing.joined(separator: ", "))"
    }
    public override func install(on platform: Platform) {
        replicas = platform.topology.nodes(role: "inference").compactMap { platform.node($0.name) }
        crashes = replicas.map(\.crashCount)
        super.install(on: platform)
    }
    public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { nodesMentioned(in: outcome.message, simulation) }

    public override func check(_ simulation: Simulation) -> String? {
        guard let serving else { return nil }
        for (index, node) in replicas.enumerated() where node.crashCount != crashes[index] {
            crashes[index] = node.crashCount
            if node.lastCrashReason == .outOfMemory {
                let cached = serving.replicas[node.name]
                return "\(node.name) was killed for running out of memory (budget \(mib(node.memoryBudget)))"
                    + (cached.map { "; its cache accounted for \(mib($0.baseBytes + $0.cachedBytes)) (\($0.cached.count) of \($0.capacity) versions)" } ?? "")
            }
        }
        if serving.revision == checkedRevision { return nil }
        checkedRevision = serving.revision
        for node in replicas where node.state == .up {
            guard let replica = serving.replicas[node.name], replica.epoch == node.epoch else { continue }  // restarted, not yet accounted
            let accounted = replica.baseBytes + replica.cachedBytes
            if node.memoryUsed != accounted {
                return "\(node.name) holds \(mib(node.memoryUsed)) but its cache accounts for \(mib(accounted)) (base \(mib(replica.baseBytes)) + \(replica.cached.count) versions): "
                    + "\(mib(node.memoryUsed - accounted)) of evicted model versions is still referenced after \(replica.evictions) evictions"
            }
            if replica.cached.count > replica.capacity, let idle = replica.cached.first(where: { $0.pins == 0 && $0.key != replica.spared }) {
                return "\(node.name) caches \(replica.cached.count) versions, above its capacity \(replica.capacity), while \(idle.key) is not in use and could be evicted"
            }
        }
        return nil
    }

    private func mib(_ bytes: Int) -> String {
        bytes >= 1 << 30 ? "\((Double(bytes) / Double(1 << 30) * 10).rounded() / 10) GiB" : "\(bytes >> 20) MiB"
    }
}
