import SimKernel
import SimServices

/// What every checker of `SecurityObservations` shares: it installs itself on the simulation with
/// the observations, and keeps a cursor (`checked`) over the list it judges (`judgeNew`).
public class SecurityObservationsChecker: SafetyChecker {
    public var name: String { fatalError("subclasses name themselves") }
    var observations: SecurityObservations?
    var checked = 0
    public required init(scenario: Scenario) {}

    public func install(on platform: Platform) {
        observations = platform.simulation.security
        platform.simulation.add(checker: self)
    }

    public func check(_ simulation: Simulation) -> String? { nil }
}

/// Why a check of the `auth_sessions` workload's observations cannot fire in `scenario`, or nil.
func authSessionsMissing(_ scenario: Scenario) -> String? {
    scenario.workloads.contains { $0 is AuthSessionsWorkload } ? nil : "no auth_sessions workload runs in this scenario"
}

/// Why a check of the `model_attacks` workload's observations cannot fire in `scenario`, or nil.
func modelAttacksMissing(_ scenario: Scenario) -> String? {
    scenario.workloads.contains { $0 is ModelAttacksWorkload } ? nil : "no model_attacks workload runs in this scenario"
}

/// Judges the entries of an append-only observation list from `cursor` on, in order, moving the
/// cursor past each one judged: the first finding, or nil once all are judged.
func judgeNew<Entry>(_ list: [Entry], from cursor: inout Int, _ judge: (Entry) -> String?) -> String? {
    while cursor < list.count {
        let entry = list[cursor]
        cursor += 1
        if let finding = judge(entry) { return finding }
    }
    return nil
}
