import SimKernel
import SimServices

/// A/B verdict: the experiment's verdict is given only once every arm has its planned sample (the
/// test is fixed-sample, not sequential); each arm's count lies between the outcomes acknowledged
/// before the verdict was asked for and those sent before it was answered (an outcome counts once,
/// by its id, however often it arrives); and each reported z is the two-proportion z of the reported
/// counts, significant exactly when |z| exceeds the 5 % two-sided critical value.
public final class ABVerdictChecker: ServingSafetyChecker, Checker {
    public static let name = "ab-verdict"
    public override var name: String { Self.name }
    public static func whyItCannotFire(in scenario: Scenario) -> String? {
        guard let workload = scenario.workloads.compactMap({ $0 as? ABTestWorkload }).first else { return "no A/B experiment runs in this scenario" }
        return workload.outcomeSharePercent > 0 ? nil : "no outcome is reported in this scenario (outcome_share_percent 0)"
    }
    let planned: Int
    var checked = 0
    public init(scenario: Scenario) { planned = scenario.workloads.compactMap { $0 as? ABTestWorkload }.first?.sample ?? 0 }

    public override func check(_ simulation: Simulation) -> String? {
        guard let serving else { return nil }
        while checked < serving.abVerdicts.count {
            let verdict = serving.abVerdicts[checked]
            checked += 1
            guard verdict.status == 200, let armsText = verdict.arms, let comparisonsText = verdict.comparisons else { continue }
            let arms = armsText.splitBytes(",").compactMap { part -> ABVerdict.Arm? in
                let fields = part.splitBytes(":").compactMap { Int64($0) }
                return fields.count == 3 ? ABVerdict.Arm(version: fields[0], samples: Int(fields[1]), conversions: Int(fields[2])) : nil
            }
            if let short = arms.first(where: { $0.samples < planned }) {
                return "a verdict was given at \(formatNanoseconds(verdict.answeredAt)) with v\(short.version) at \(short.samples) of its planned \(planned) outcomes (the test is not sequential)"
            }
            for arm in arms {
                let acknowledged = serving.abOutcomes.filter { $0.version == arm.version && ($0.acknowledgedAt ?? .max) <= verdict.sentAt }.count
                let sent = serving.abOutcomes.filter { $0.version == arm.version && $0.sentAt <= verdict.answeredAt }.count
                if arm.samples < acknowledged || arm.samples > sent {
                    return "the verdict at \(formatNanoseconds(verdict.answeredAt)) counts \(arm.samples) outcomes for v\(arm.version), outside [\(acknowledged) acknowledged, \(sent) sent]"
                }
            }
            guard let control = arms.first else { continue }
            for part in comparisonsText.splitBytes(",") {
                let fields = part.splitBytes(":").map(String.init)
                guard fields.count == 3, let version = Int64(fields[0]), let z = Double(fields[1]), let arm = arms.first(where: { $0.version == version }) else {
                    return "the verdict's comparison '\(part)' is unreadable"
                }
                let expected = ABVerdict.z(arm, against: control)
                if abs(expected - z) > 1e-3 || (fields[2] == "1") != (abs(expected) > ABVerdict.critical) {
                    return "the verdict says v\(version) has z = \(z) (significant: \(fields[2])), but its counts give z = \(expected)"
                }
            }
        }
        return nil
    }
}
