import SimKernel
import SimServices

/// Training/serving parity of pre-processing: every answered prediction of the text model equals
/// the offline replay of the same text, pre-processed as the model's artifact records it was
/// trained (`TextPreprocessing`) and scored with that version's weights. Serving that tokenizes
/// or pads otherwise (M10: on the left where training padded on the right) moves a short text's
/// words onto other positions' weights, and the message shows both sequences.
public final class PreprocessingParityChecker: ServingSafetyChecker, Checker {
    public static let name = "preprocessing-parity"
    public override var name: String { Self.name }
    public static func whyItCannotFire(in scenario: Scenario) -> String? {
        guard scenario.topology.has(role: "inference"), let workload = scenario.workloads.compactMap({ $0 as? ABTestWorkload }).first else {
            return "no text model is served in this scenario (it needs the ab_test workload and an inference node)"
        }
        return workload.textRequestsPerSecond > 0 ? nil : "ab_test.text_requests_per_s is 0: no text is sent to the text model"
    }
    var checked = 0
    public init(scenario: Scenario) {}
    public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { ["inference"] + nodesMentioned(in: outcome.message, simulation) }

    public override func check(_ simulation: Simulation) -> String? {
        guard let serving else { return nil }
        let artifact = ABTestWorkload.textArtifact
        guard let preprocessing = artifact.text else { return nil }
        return judgeNew(serving.textAnswers, from: &checked) { answer in
            guard answer.version == artifact.version else {
                return "\(answer.model) was answered by v\(answer.version) on \(answer.replica) for '\(answer.text)', but only v\(artifact.version) was registered"
            }
            guard let expected = artifact.probability(text: answer.text), abs(expected - answer.p) > 1e-6 else { return nil }
            let other = preprocessing.padding == .right ? TextPreprocessing.Padding.left : .right
            let matchesOther = artifact.probability(text: answer.text, padding: other).map { abs($0 - answer.p) <= 1e-6 } ?? false
            return "\(answer.model) v\(answer.version) on \(answer.replica) answered p=\(answer.p) for '\(answer.text)' (sent at \(formatNanoseconds(answer.sentAt))), but the offline "
                + "replay through its training pre-processing (\(preprocessing.encoded): ids \(preprocessing.sequence(answer.text))) gives \(expected)"
                + (matchesOther ? ": the answer is the \(other.rawValue)-padded sequence's (ids \(preprocessing.sequence(answer.text, padding: other)))"
                    : ": no padding of the text gives it (the text was tokenized otherwise)")
        }
    }
}
