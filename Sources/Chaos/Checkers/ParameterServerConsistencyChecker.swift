import SimKernel
import SimServices

/// Parameter-server consistency: every shard's live parameters equal the replay of its update
/// log, bit for bit, and no shard applied more updates than it accepted. A lost update (A1) makes
/// the live parameters differ from the replay.
public final class ParameterServerConsistencyChecker: Checker, SafetyChecker {
    public static let name = "ps-consistency"
    public var name: String { Self.name }
    public static func whyItCannotFire(in scenario: Scenario) -> String? {
        scenario.topology.has(role: "parameter_server") && scenario.trainingJob != nil ? nil : "no parameter servers train a job in this scenario"
    }
    /// (epoch, updates applied) of each shard when last compared: a shard's parameters change only
    /// when it applies an update or restarts, so only then is the comparison repeated.
    var lastSeen: [(UInt64, Int)] = []
    var checkedRevision = UInt64.max
    /// The run's observations, looked up once (a component look-up per event costs more than the check).
    var observations: TrainingObservations?
    public init(scenario: Scenario) {}
    public func install(on platform: Platform) {
        observations = platform.simulation.training
        platform.simulation.add(checker: self)
    }
    public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { nodesMentioned(in: outcome.message, simulation) }

    public func check(_ simulation: Simulation) -> String? {
        let training = observations ?? simulation.training
        if training.revision == checkedRevision { return nil }  // no shard changed since the last look
        checkedRevision = training.revision
        let shards = training.shards
        if lastSeen.count != shards.count { lastSeen = Array(repeating: (UInt64.max, -1), count: shards.count) }
        for (index, shard) in shards.enumerated() {
            if lastSeen[index] == (shard.epoch, shard.updatesApplied) { continue }
            lastSeen[index] = (shard.epoch, shard.updatesApplied)
            if shard.updatesApplied > shard.pushesAccepted {
                return "ps-\(index): \(shard.updatesApplied) updates applied but only \(shard.pushesAccepted) pushes accepted"
            }
            if let j = shard.parameters.indices.first(where: { shard.parameters[$0] != shard.replay[$0] }) {
                return "ps-\(index): parameter \(j) is \(shard.parameters[j]) but the replay of its \(shard.updatesApplied) logged updates gives \(shard.replay[j]): an applied update was lost (read-modify-write raced)"
            }
        }
        if training.nonFiniteParameters > 0 {
            return "\(training.nonFiniteParameters) non-finite parameter values were written"
        }
        return nil
    }
}
