import SimKernel
import SimServices

/// Staleness: under BSP/SSP, no pull is served to a worker at clock c while the slowest worker's
/// clock is below c - s.
public final class StalenessChecker: Checker, SafetyChecker {
    public static let name = "staleness"
    public var name: String { Self.name }
    public static func whyItCannotFire(in scenario: Scenario) -> String? {
        guard let job = scenario.trainingJob else { return "no training job in this scenario" }
        return job.configuration.job.stalenessBound == nil ? "the job is asynchronous (sync: asp): staleness has no bound to break" : nil
    }
    let bound: Int?
    var checked: [Int] = []
    var checkedRevision = UInt64.max
    public init(scenario: Scenario) { bound = scenario.platform.job.stalenessBound }
    public init(bound: Int?) { self.bound = bound }
    var observations: TrainingObservations?
    public func install(on platform: Platform) {
        observations = platform.simulation.training
        platform.simulation.add(checker: self)
    }
    public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { nodesMentioned(in: outcome.message, simulation) }

    public func check(_ simulation: Simulation) -> String? {
        guard let bound else { return nil }
        let training = observations ?? simulation.training
        if training.revision == checkedRevision { return nil }  // nothing served since the last look
        checkedRevision = training.revision
        let shards = training.shards
        if checked.count != shards.count { checked = [Int](repeating: 0, count: shards.count) }
        for (index, shard) in shards.enumerated() {
            while checked[index] < shard.servedPulls.count {
                let pull = shard.servedPulls[checked[index]]
                checked[index] += 1
                if pull.clock - pull.slowest > bound {
                    return "ps-\(index) served worker-\(pull.worker) at clock \(pull.clock) while the slowest worker was at clock \(pull.slowest): staleness \(pull.clock - pull.slowest) > bound \(bound)"
                }
            }
        }
        return nil
    }
}
