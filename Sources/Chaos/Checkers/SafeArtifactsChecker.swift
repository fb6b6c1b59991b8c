import SimKernel
import SimServices

/// No model file with an executable payload is ever loaded: every file an inference replica
/// loaded is in a weights-only format (a serving artifact or a checkpoint), and no load called
/// anything. I3 lets a pickle stream through the registry and unpickles it on every replica.
public final class SafeArtifactsChecker: SecurityObservationsChecker, Checker {
    public static let name = "safe-artifacts"
    public override var name: String { Self.name }
    public static func whyItCannotFire(in scenario: Scenario) -> String? { modelAttacksMissing(scenario) }
    var checkedLoads = 0, checkedCalls = 0

    public override func check(_ simulation: Simulation) -> String? {
        guard let observations else { return nil }
        // A call is the worse finding (the payload ran), so calls are judged first.
        if let finding = judgeNew(observations.payloadCalls, from: &checkedCalls, { run in
            "\(run.node) ran \(run.call.callable)(\(run.call.arguments.map { "'\($0)'" }.joined(separator: ", "))) while loading \(run.model) v\(run.version) at \(formatNanoseconds(run.at)): a model file's payload was honoured"
        }) { return finding }
        return judgeNew(observations.modelLoads, from: &checkedLoads) { load in
            let format = WeightsOnly.format(of: load.bytes)
            return format.isWeightsOnly ? nil
                : "\(load.node) loaded \(load.model) v\(load.version) from a \(format.rawValue) (\(load.bytes.count) bytes) at \(formatNanoseconds(load.at)): not a weights-only format"
        }
    }

    public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { ["registry", "inference", "minio"] }
}
