import SimKernel
import SimServices

/// Schema: every prediction accepted carried every feature of the signature of the version that
/// answered it (no feature defaulted, reordered or cast). Validating against a signature that did
/// not follow the version (B7) accepts a request that lacks a feature the version added.
public final class SchemaChecker: ServingSafetyChecker, Checker {
    public static let name = "schema"
    public override var name: String { Self.name }
    public static func whyItCannotFire(in scenario: Scenario) -> String? {
        guard let workload = scenario.workloads.compactMap({ $0 as? ABTestWorkload }).first else { return "no A/B experiment runs in this scenario" }
        return workload.legacySharePercent > 0 && workload.parsedArms.count >= 3 ? nil
            : "no request lacks a feature of a version's signature (legacy_share_percent 0, or no version adds a feature)"
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
            guard answer.status == 200, let served = answer.servedVersion, let sent = answer.features else { continue }
            let signature = workload.features(version: served)
            if let missing = signature.first(where: { !sent.contains($0) }) {
                return "\(answer.model) v\(served) on \(answer.replica ?? "?") accepted a request without '\(missing)', a feature of its signature (\(signature.joined(separator: ","))), for user \(answer.user ?? "?")"
            }
        }
        return nil
    }
}
