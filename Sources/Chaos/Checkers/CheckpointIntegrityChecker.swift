import SimKernel
import SimServices

/// Checkpoint integrity: every checkpoint the storage service published to the object store
/// decodes and verifies (magic, version, CRC-32, shape). Read from the object store's disk, past
/// the store's own checksum header: the store keeps whatever bytes it was given.
public final class CheckpointIntegrityChecker: Checker, SafetyChecker {
    public static let name = "checkpoint-integrity"
    public var name: String { Self.name }
    public static func whyItCannotFire(in scenario: Scenario) -> String? {
        scenario.trainingJob == nil ? "no training job saves checkpoints in this scenario" : nil
    }
    let parameterCount: Int
    var checkedCommits = 0
    public init(scenario: Scenario) { parameterCount = scenario.platform.features + 1 }
    var observations: TrainingObservations?
    public func install(on platform: Platform) {
        observations = platform.simulation.training
        platform.simulation.add(checker: self)
    }
    public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] {
        ["storage", simulation.training.storageNode] + nodesMentioned(in: outcome.message, simulation).filter { $0 != "storage" }
    }

    public func check(_ simulation: Simulation) -> String? {
        let observations = self.observations ?? simulation.training
        guard checkedCommits < observations.checkpointCommits.count,
              let store = simulation.node(named: observations.storageNode) else { return nil }
        while checkedCommits < observations.checkpointCommits.count {
            let path = observations.checkpointCommits[checkedCommits]
            checkedCommits += 1
            guard store.state != .crashed, let stored = try? store.disk.readAll(path), stored.count >= 4 else { continue }
            do {
                let checkpoint = try Checkpoint.decode(Array(stored.dropFirst(4)))
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
