/// Logistic regression: p = sigmoid(w . x + b). Parameters are `featureCount` weights then the bias.
public enum LogisticModel {
    public static func sigmoid(_ z: Float) -> Float { 1 / (1 + expf(-z)) }

    public static func score(_ parameters: [Float], _ x: [Float]) -> Float {
        var z = parameters[x.count]
        for j in 0 ..< x.count { z += parameters[j] * x[j] }
        return z
    }

    /// Mean binary cross-entropy over `examples` (fp32).
    public static func loss(_ parameters: [Float], _ examples: [Example]) -> Float {
        guard !examples.isEmpty else { return 0 }
        var total: Float = 0
        for e in examples {
            let p = min(max(sigmoid(score(parameters, e.features)), 1e-7), 1 - 1e-7)
            total -= e.label * logf(p) + (1 - e.label) * logf(1 - p)
        }
        return total / Float(examples.count)
    }

    /// Fraction of examples classified correctly.
    public static func accuracy(_ parameters: [Float], _ examples: [Example]) -> Double {
        guard !examples.isEmpty else { return 0 }
        let correct = examples.filter { (score(parameters, $0.features) > 0 ? 1 : 0) == $0.label }.count
        return Double(correct) / Double(examples.count)
    }

    /// The gradient of the mean binary cross-entropy over `batch`, in fp32: (p - y) x per example,
    /// averaged; the bias's entry is the mean of (p - y).
    public static func meanGradient(_ parameters: [Float], _ batch: [Example]) -> [Float] {
        let n = parameters.count
        var sum = [Float](repeating: 0, count: n)
        guard !batch.isEmpty else { return sum }
        for e in batch {
            let error = sigmoid(score(parameters, e.features)) - e.label
            for j in 0 ..< n - 1 { sum[j] += error * e.features[j] }
            sum[n - 1] += error
        }
        return sum.map { $0 / Float(batch.count) }
    }

    /// The loss-scaled gradient of one micro-batch, summed (not averaged) over its examples and
    /// computed in `Float16`, as a mixed-precision forward/backward pass would: each per-example
    /// term is `scale * (p - y) * x_j` in half precision, so a large scale overflows to infinity.
    public static func scaledHalfGradientSum(_ parameters: [Float], _ batch: [Example], scale: Float) -> [Float16] {
        let n = parameters.count
        var sum = [Float16](repeating: 0, count: n)
        let half = parameters.map { Float16($0) }
        let scaleHalf = Float16(scale)
        for e in batch {
            var z = half[n - 1]
            for j in 0 ..< n - 1 { z += half[j] * Float16(e.features[j]) }
            let p = Float16(sigmoid(Float(z)))
            let error = (p - Float16(e.label)) * scaleHalf
            for j in 0 ..< n - 1 { sum[j] += error * Float16(e.features[j]) }
            sum[n - 1] += error
        }
        return sum
    }
}

#if canImport(Glibc)
import Glibc
#endif
