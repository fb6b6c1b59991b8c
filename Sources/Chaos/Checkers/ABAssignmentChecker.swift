import SimKernel
import SimServices

/// A/B assignment: every prediction for a user of the experiment was answered by the arm the
/// user's bucket falls in (`stableHash("<model>/<user>") mod 10,000` against the arms' integer
/// cumulative weights): each arm gets exactly its share of the buckets, and a user always the same
/// arm. A split computed with lost precision (B3) sends the users of boundary buckets elsewhere.
public final class ABAssignmentChecker: ServingSafetyChecker, Checker {
    public static let name = "ab-assignment"
    public override var name: String { Self.name }
    public static func whyItCannotFire(in scenario: Scenario) -> String? {
        scenario.has(workload: ABTestWorkload.name) ? nil : "no A/B experiment runs in this scenario"
    }
    let arms: ABSplit.Arms
    let model: String
    var checked = 0
    public init(scenario: Scenario) {
        let workload = scenario.workloads.compactMap { $0 as? ABTestWorkload }.first
        arms = workload?.parsedArms ?? []
        model = workload.map { ServingClient.servedKey($0.model) } ?? ""  // as the replicas hash it
    }
    public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { ["gateway"] + nodesMentioned(in: outcome.message, simulation) }

    /// Arms that answered since the experiment started, and how many answers were looked at
    /// (the runner asks for convergence after every event: it must not rescan every answer).
    var answeredArms: Set<Int64> = []
    var convergenceScanned = 0

    /// Liveness: the experiment started and every arm answered predictions.
    public func converged(_ simulation: Simulation) -> Bool? {
        let serving = simulation.serving
        guard let started = serving.experimentStartedAt else { return false }
        while convergenceScanned < serving.answers.count {
            let answer = serving.answers[convergenceScanned]
            convergenceScanned += 1
            if answer.status == 200, answer.sentAt >= started, let version = answer.servedVersion { answeredArms.insert(version) }
        }
        return arms.allSatisfy { answeredArms.contains($0.version) }
    }

    public func livenessMessage(_ simulation: Simulation) -> String {
        let serving = simulation.serving
        guard let started = serving.experimentStartedAt else { return "the A/B experiment on \(model) never started" }
        let answered = Set(serving.answers.filter { $0.status == 200 && $0.sentAt >= started }.compactMap(\.servedVersion))
        return "arms \(arms.filter { !answered.contains($0.version) }.map { "v\($0.version)" }.joined(separator: ", ")) answered no prediction since the experiment started"
    }

    public override func check(_ simulation: Simulation) -> String? {
        guard let serving else { return nil }
        while checked < serving.answers.count {
            let answer = serving.answers[checked]
            checked += 1
            guard answer.status == 200, let user = answer.user, let served = answer.servedVersion, answer.model == model else { continue }
            let bucket = ABSplit.bucket(model: model, user: user)
            let expected = ABSplit.arm(bucket: bucket, arms: arms)
            if served != expected {
                let range = bucketRange(of: expected)
                return "user \(user) (bucket \(bucket)) was answered by v\(served) on \(answer.replica ?? "?"), but its arm is v\(expected) (buckets \(range.lowerBound)-\(range.upperBound))"
            }
        }
        return nil
    }

    private func bucketRange(of version: Int64) -> ClosedRange<Int> {
        var start = 0
        for arm in arms {
            if arm.version == version { return start ... start + arm.weight - 1 }
            start += arm.weight
        }
        return 0 ... 0
    }
}
