import SimKernel
import SimServices

/// Parameter-server consistency: every shard's live parameters equal the replay of its update
/// log, bit for bit, and no shard applied more updates than it accepted. A lost update (A1) makes
/// the live parameters differ from the replay.
public final class ParameterServerConsistencyChecker: SafetyChecker {
    public let name = "ps-consistency"
    /// (epoch, updates applied) of each shard when last compared: a shard's parameters change only
    /// when it applies an update or restarts, so only then is the comparison repeated.
    var lastSeen: [(UInt64, Int)] = []
    public init() {}
    public func check(_ simulation: Simulation) -> String? {
        let shards = simulation.training.shards
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
        if simulation.training.nonFiniteParameters > 0 {
            return "\(simulation.training.nonFiniteParameters) non-finite parameter values were written"
        }
        return nil
    }
}

/// Staleness: under BSP/SSP, no pull is served to a worker at clock c while the slowest worker's
/// clock is below c - s.
public final class StalenessChecker: SafetyChecker {
    public let name = "staleness"
    let bound: Int?
    var checked: [Int] = []
    public init(bound: Int?) { self.bound = bound }
    public func check(_ simulation: Simulation) -> String? {
        guard let bound else { return nil }
        let shards = simulation.training.shards
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

/// Checkpoint integrity: every committed checkpoint that can be read verifies (magic, version,
/// CRC-32, shape).
public final class CheckpointIntegrityChecker: SafetyChecker {
    public let name = "checkpoint-integrity"
    let parameterCount: Int
    var checkedCommits = 0
    public init(parameterCount: Int) { self.parameterCount = parameterCount }
    public func check(_ simulation: Simulation) -> String? {
        let observations = simulation.training
        guard checkedCommits < observations.checkpointCommits.count,
              let storage = simulation.node(named: observations.storageNode) else { return nil }
        while checkedCommits < observations.checkpointCommits.count {
            let path = observations.checkpointCommits[checkedCommits]
            checkedCommits += 1
            guard storage.state != .crashed, let bytes = try? storage.disk.readAll(path) else { continue }
            do {
                let checkpoint = try Checkpoint.decode(bytes)
                if checkpoint.parameters.count != parameterCount {
                    return "checkpoint \(path) holds \(checkpoint.parameters.count) parameters, expected \(parameterCount)"
                }
            } catch {
                return "checkpoint \(path) fails verification: \(error)"
            }
        }
        return nil
    }
}
