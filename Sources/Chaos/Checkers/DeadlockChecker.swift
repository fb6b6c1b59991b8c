import SimKernel
import SimServices

/// No lock-ordering deadlock: the kernel's lock manager ends the run with the wait-for cycle
/// (who holds what, waiting for what, since when). It can fire only where platform locks are
/// taken: the training cluster's job, worker and shard locks and the all-reduce coordinator's
/// worker and aggregation locks.
public final class DeadlockChecker: Checker {
    public static let name = "deadlock"
    public static func whyItCannotFire(in scenario: Scenario) -> String? {
        scenario.trainingJob == nil ? "no code path takes platform locks without the training_job workload" : nil
    }
    public init(scenario: Scenario) {}
    public func install(on platform: Platform) { platform.simulation.locks.deadlockPolicy = .failRun }
    public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] {
        if case .deadlock(let cycle) = outcome { return cycle.members.map(\.owner) }
        return []
    }
}
