/// Threshold sparsification of a gradient with error feedback (Strom 2015; Seide et al.'s 1-bit
/// SGD with error feedback): only the coordinates whose magnitude, after adding what earlier
/// steps held back, reaches `threshold` are sent; the rest is kept as a residual and added to the
/// next step's gradient, so every coordinate's updates arrive eventually and nothing is lost.
///
/// Defect A7 (`errorFeedback: false`): what falls under the threshold is dropped. Coordinates whose
/// gradients stay small are never updated, and the model ends below the uncompressed run's accuracy.
public struct GradientCompressor: Sendable, Equatable {
    public var threshold: Float
    public var errorFeedback: Bool
    /// What earlier steps held back, per coordinate.
    public private(set) var residual: [Float]

    public init(parameterCount: Int, threshold: Float, errorFeedback: Bool = true) {
        precondition(threshold >= 0, "a negative compression threshold \(threshold)")
        self.threshold = threshold
        self.errorFeedback = errorFeedback
        residual = [Float](repeating: 0, count: parameterCount)
    }

    /// The sparse gradient to send (dense, zeros where nothing is sent); the rest stays behind.
    public mutating func compress(_ gradient: [Float]) -> [Float] {
        precondition(gradient.count == residual.count, "a gradient of \(gradient.count) coordinates for a compressor of \(residual.count)")
        var sent = [Float](repeating: 0, count: gradient.count)
        for index in gradient.indices {
            let value = gradient[index] + (errorFeedback ? residual[index] : 0)
            if abs(value) >= threshold {
                sent[index] = value
                residual[index] = 0
            } else {
                residual[index] = errorFeedback ? value : 0
            }
        }
        return sent
    }

    /// Forgets the residual (a restart from a checkpoint: the residual was not saved with it).
    public mutating func reset() { residual = [Float](repeating: 0, count: residual.count) }
}
