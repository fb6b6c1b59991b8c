import SimKernel
import SimServices

/// A run's parameters never change once written: what the client read right after the run was
/// created is what it reads at the end, and its attempt to overwrite the learning rate was refused
/// with 409.
public final class WriteOnceParamsChecker: TrainingRunsChecker, SafetyChecker, Checker {
    public static let name = "write-once-params"
    public var name: String { Self.name }
    var checked = 0
    public func check(_ simulation: Simulation) -> String? {
        guard let observations else { return nil }
        while checked < observations.readBacks.count {
            let back = observations.readBacks[checked]
            checked += 1
            if back.overwriteStatus != 409 {
                return "\(back.name): overwriting the written parameter lr was answered \(back.overwriteStatus), not 409"
            }
            if back.params != back.paramsAtStart {
                let changed = Set(back.params.keys).union(back.paramsAtStart.keys).sorted().filter { back.params[$0] != back.paramsAtStart[$0] }
                return "\(back.name): parameters changed after they were written: " + changed.map { "\($0) \(back.paramsAtStart[$0] ?? "absent") -> \(back.params[$0] ?? "absent")" }.joined(separator: ", ")
            }
        }
        return nil
    }

    override public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { ["experiments"] }
}
