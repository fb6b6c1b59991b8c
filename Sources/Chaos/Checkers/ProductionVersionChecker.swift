import SimKernel
import SimServices

/// Production version: once the faults have healed and the replicas had `settle` to catch up
/// (after the heal, or after the last node's restart when that came later), a
/// prediction that did not name a version is served by a version that was in Production (as the
/// registry committed it) at some time between `window` before it was sent and its answer. A
/// replica that keeps its own idea of the model (H5) serves a version no longer in Production while
/// the others serve the new one. Liveness: by heal + converge, every running replica's Production
/// pointer names the version the registry last committed to Production.
public final class ProductionVersionChecker: ServingSafetyChecker, Checker {
    public static let name = "production-version"
    public override var name: String { Self.name }
    public static func whyItCannotFire(in scenario: Scenario) -> String? {
        scenario.topology.has(role: "inference") && scenario.has(workload: ModelDeploymentsWorkload.name)
            ? nil : "no predictions on a model's Production version are sent in this scenario"
    }
    let healAt: Int64
    var checked = 0
    var replicas: [Node] = []
    public init(scenario: Scenario) { healAt = scenario.healAtSeconds * Nanos.second }
    public override func install(on platform: Platform) {
        replicas = platform.topology.nodes(role: "inference").compactMap { platform.node($0.name) }
        super.install(on: platform)
    }
    public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { ["registry"] + nodesMentioned(in: outcome.message, simulation) }

    /// Running replicas whose pointer differs from the registry's last Production version of a
    /// model: (replica, model, its version or nil, the registry's).
    func disagreements(_ simulation: Simulation) -> [(replica: String, model: String, pointer: Int64?, production: Int64)] {
        let serving = simulation.serving
        var latest: [(model: String, version: Int64)] = []
        for promotion in serving.promotions {
            if let index = latest.firstIndex(where: { $0.model == promotion.model }) { latest[index].version = promotion.version } else { latest.append((promotion.model, promotion.version)) }
        }
        var found: [(String, String, Int64?, Int64)] = []
        for node in replicas where node.state == .up {
            for (model, version) in latest where serving.pointers[node.name]?[model] != version {
                found.append((node.name, model, serving.pointers[node.name]?[model], version))
            }
        }
        return found
    }

    public func converged(_ simulation: Simulation) -> Bool? { disagreements(simulation).isEmpty }

    public func livenessMessage(_ simulation: Simulation) -> String {
        disagreements(simulation).map { "\($0.replica) serves \($0.model) v\($0.pointer.map(String.init) ?? "none") as Production, the registry v\($0.production)" }
            .joined(separator: "; ") + " (the replicas disagree on the model)"
    }

    /// The versions of `model` in Production at some time in `from ... to`.
    func productionVersions(_ serving: ServingObservations, model: String, from: Int64, to: Int64) -> [Int64] {
        // Both logs are appended at the simulation's time, so they are in time order: the window's
        // start is found by bisection, and only the entries in the window and the last one before
        // it are read (scanning from the start made each answer cost every deployment so far).
        let promotions = serving.promotions, changes = serving.canaryChanges
        let firstPromotionAfter = Self.firstIndex(in: promotions.count, after: from) { promotions[$0].time }
        let current = promotions[..<firstPromotionAfter].last { $0.model == model }?.version
        var versions: [Int64] = []
        for promotion in promotions[firstPromotionAfter...] where promotion.model == model {
            if promotion.time > to { break }
            versions.append(promotion.version)
        }
        // A canary active in the window may serve it too.
        let firstChangeAfter = Self.firstIndex(in: changes.count, after: from) { changes[$0].time }
        let canary = changes[..<firstChangeAfter].last { $0.model == model }.flatMap { $0.percent > 0 ? $0.version : nil }
        for change in changes[firstChangeAfter...] where change.model == model {
            if change.time > to { break }
            if change.percent > 0 { versions.append(change.version) }
        }
        return (current.map { [$0] } ?? []) + versions + (canary.map { [$0] } ?? [])
    }

    /// The first index of `0 ..< count` whose time is after `time`, for times in non-decreasing
    /// order (`count` when none is).
    static func firstIndex(in count: Int, after time: Int64, timeAt: (Int) -> Int64) -> Int {
        var low = 0, high = count
        while low < high {
            let middle = (low + high) / 2
            if timeAt(middle) <= time { low = middle + 1 } else { high = middle }
        }
        return low
    }

    public override func check(_ simulation: Simulation) -> String? {
        guard let serving else { return nil }
        let settledAt = checked < serving.answers.count ? simulation.settled(healAt: healAt) : 0  // only when there are answers to judge
        while checked < serving.answers.count {
            let answer = serving.answers[checked]
            checked += 1
            guard !answer.pinned, answer.status == 200, answer.sentAt >= settledAt, let served = answer.servedVersion else { continue }
            let allowed = productionVersions(serving, model: answer.model, from: answer.sentAt - Convergence.window, to: answer.answeredAt)
            guard !allowed.isEmpty, !allowed.contains(served) else { continue }
            let others = serving.answers[..<checked].reversed().first { !$0.pinned && $0.status == 200 && $0.replica != answer.replica && $0.servedVersion.map(allowed.contains) == true }
            let production = serving.promotions.last { $0.model == answer.model && $0.time <= answer.answeredAt }?.version ?? allowed[0]
            return "\(answer.replica ?? "?") served \(answer.model) v\(served) at \(formatNanoseconds(answer.sentAt)), past convergence, while v\(production) is in Production"
                + (others.map { " (\($0.replica ?? "?") serves v\($0.servedVersion!): the replicas disagree on the model)" } ?? "")
        }
        return nil
    }
}
