import SimKernel
import SimServices

/// Model updates change only what a caller may change: every update left the model's id, tenant
/// and name as they were, raised its revision by exactly one, and changed no field outside
/// `ModelsService.patchable`. I7 writes every column a patch names (mass assignment).
public final class ProtectedFieldsChecker: SecurityObservationsChecker, Checker {
    public static let name = "protected-fields"
    public override var name: String { Self.name }
    public static func whyItCannotFire(in scenario: Scenario) -> String? { modelAttacksMissing(scenario) }

    public override func check(_ simulation: Simulation) -> String? {
        guard let observations else { return nil }
        return judgeNew(observations.modelUpdates, from: &checked) { update in
            let model = "model \(update.before["id"] ?? "?") (\(update.before["tenant"] ?? "?")/\(update.before["name"] ?? "?"))"
            if let old = Int64(update.before["revision"] ?? ""), let new = Int64(update.after["revision"] ?? ""), new != old + 1 {
                return "\(update.caller)'s update (fields \(update.asked.joined(separator: ", "))) of \(model) moved its revision from \(old) to \(new) at \(formatNanoseconds(update.at)): not one more"
            }
            for column in ModelsService.columns where column != "revision" && !ModelsService.patchable.contains(column) && update.before[column] != update.after[column] {
                return "\(update.caller)'s update (fields \(update.asked.joined(separator: ", "))) of \(model) changed the protected field \(column) from \(update.before[column] ?? "nil") to \(update.after[column] ?? "nil") at \(formatNanoseconds(update.at))"
            }
            return nil
        }
    }

    public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { ["models", "models-db", "gateway"] }
}
