import SimKernel
import SimServices

/// Gradient accumulation does not depend on how a batch is cut into micro-batches: every
/// iteration's applied gradient equals its fp16 micro-batch sums added in fp32 and divided once
/// by scale x items (within 1e-6 relative: the same fp32 additions in the same order give the
/// same bits, so only a different accumulation differs), and an iteration is skipped for an
/// overflow only when that fp32 total is not finite. M2 adds the sums in fp16: its total overflows
/// at 65504 where fp32's does not, and rounds what it keeps to 11 bits.
public final class AccumulationChecker: Checker, SafetyChecker {
    public static let name = "accumulation"
    public var name: String { Self.name }
    public static func whyItCannotFire(in scenario: Scenario) -> String? { scenario.trainingJob == nil ? "no training job in this scenario" : nil }
    var observations: TrainingObservations?
    var checked = 0
    public required init(scenario: Scenario) {}

    public func install(on platform: Platform) {
        observations = platform.simulation.training
        platform.simulation.add(checker: self)
    }

    public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { nodesMentioned(in: outcome.message, simulation) }

    /// The fp32 accumulation of `microSums`, divided once; nil when it is not finite.
    public static func reference(_ microSums: [[Float16]], items: Int, scale: Float) -> [Float]? {
        guard let count = microSums.first?.count else { return [] }
        var sum = [Float](repeating: 0, count: count)
        for micro in microSums {
            for j in 0 ..< count { sum[j] += Float(micro[j]) }
        }
        guard sum.allSatisfy(\.isFinite) else { return nil }
        let divisor = scale * Float(Swift.max(1, items))
        return sum.map { $0 / divisor }
    }

    public func check(_ simulation: Simulation) -> String? {
        guard let observations else { return nil }
        while checked < observations.accumulations.count {
            let step = observations.accumulations[checked]
            checked += 1
            let worker = "worker-\(step.worker)"
            let expected = Self.reference(step.microSums, items: step.items, scale: step.scale)
            switch (expected, step.applied) {
            case (nil, nil):
                continue
            case (let expected?, nil):
                return "\(worker) skipped clock \(step.clock) for an overflow at scale \(step.scale), yet its \(step.microSums.count) micro-batch sums add up to a finite gradient in fp32 (largest |g| \(expected.map { abs($0) }.max() ?? 0)): \(step.microSums.count) x \(step.items / Swift.max(1, step.microSums.count)) != 1 x \(step.items)"
            case (nil, .some):
                return "\(worker) applied clock \(step.clock) though its micro-batch sums overflow in fp32 at scale \(step.scale)"
            case (let expected?, let applied?):
                for j in expected.indices where abs(applied[j] - expected[j]) > 1e-6 * Swift.max(abs(expected[j]), 1e-12) {
                    return "\(worker) applied \(applied[j]) for parameter \(j) at clock \(step.clock); its micro-batch sums accumulated in fp32 give \(expected[j])"
                }
            }
        }
        return nil
    }
}
