#if canImport(Glibc)
import Glibc
#endif
import SimKernel

/// A small multi-layer perceptron for binary classification, beside `LogisticModel`:
/// `x -> Linear(d, h) -> BatchNorm(h) -> ReLU -> Dropout(p) -> Linear(h, 1) -> sigmoid`, in fp32,
/// with its forward and backward passes written out (no autodiff), so every number is reproducible
/// from its inputs and checked against finite differences in the tests.
///
/// Batch norm follows PyTorch's `BatchNorm1d`: in training, a batch is normalised with its own mean
/// and biased variance and the running statistics move by `momentum` (0.1) towards the batch's mean
/// and *unbiased* variance; in evaluation, the running statistics normalise and nothing changes.
/// M3 (`leakBatchStatistics`) evaluates with the batch's statistics and updates the running ones in
/// evaluation too: a prediction then depends on its batch neighbours, and evaluating changes the model.
public struct BatchNormMLP: Sendable, Equatable {
    public let inputs: Int
    public let hidden: Int
    /// Row-major `hidden x inputs`.
    public var w1: [Float]
    public var b1: [Float]
    public var gamma: [Float]
    public var beta: [Float]
    public var w2: [Float]
    public var b2: Float
    public var runningMean: [Float]
    public var runningVar: [Float]
    public var momentum: Float = 0.1
    public var epsilon: Float = 1e-5

    /// Weights and biases drawn as PyTorch's `Linear` default does: uniform in +-1/sqrt(fan_in),
    /// from `random` (the job's seeded initialiser stream, or an unseeded one under M9/E3).
    public init(inputs: Int, hidden: Int, random: inout SimRandom) {
        self.inputs = inputs
        self.hidden = hidden
        func uniform(_ bound: Float, _ count: Int) -> [Float] {
            (0 ..< count).map { _ in Float((random.unitDouble() * 2 - 1)) * bound }
        }
        let bound1 = 1 / Float(inputs).squareRoot(), bound2 = 1 / Float(hidden).squareRoot()
        w1 = uniform(bound1, hidden * inputs)
        b1 = uniform(bound1, hidden)
        gamma = [Float](repeating: 1, count: hidden)
        beta = [Float](repeating: 0, count: hidden)
        w2 = uniform(bound2, hidden)
        b2 = uniform(bound2, 1)[0]
        runningMean = [Float](repeating: 0, count: hidden)
        runningVar = [Float](repeating: 1, count: hidden)
    }

    /// The trainable parameters in one flat list (w1, b1, gamma, beta, w2, b2).
    public var parameters: [Float] { w1 + b1 + gamma + beta + w2 + [b2] }
    /// Parameters and buffers (the running statistics): what a state dict holds.
    public var state: [Float] { parameters + runningMean + runningVar }

    /// Lower-case hex SHA-256 of the state's little-endian float bits: equal exactly when every
    /// parameter and running statistic is bit-identical.
    public var stateHash: String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(state.count * 4)
        for value in state {
            let bits = value.bitPattern
            bytes += [UInt8(bits & 0xFF), UInt8(bits >> 8 & 0xFF), UInt8(bits >> 16 & 0xFF), UInt8(bits >> 24)]
        }
        return SHA256.hex(SHA256.hash(bytes))
    }

    /// The pre-activations `W1 x + b1` of each row.
    func linear1(_ batch: [[Float]]) -> [[Float]] {
        batch.map { x in
            precondition(x.count == inputs, "a row has \(x.count) features, the model \(inputs)")
            return (0 ..< hidden).map { j in
                var z = b1[j]
                for i in 0 ..< inputs { z += w1[j * inputs + i] * x[i] }
                return z
            }
        }
    }

    /// Per-unit mean and biased variance of `z` over the batch.
    static func statistics(_ z: [[Float]], hidden: Int) -> (mean: [Float], variance: [Float]) {
        let n = Float(z.count)
        var mean = [Float](repeating: 0, count: hidden), variance = [Float](repeating: 0, count: hidden)
        for row in z { for j in 0 ..< hidden { mean[j] += row[j] } }
        for j in 0 ..< hidden { mean[j] /= n }
        for row in z { for j in 0 ..< hidden { let d = row[j] - mean[j]; variance[j] += d * d } }
        for j in 0 ..< hidden { variance[j] /= n }
        return (mean, variance)
    }

    /// Moves the running statistics towards a batch's (unbiased variance, as PyTorch does).
    mutating func updateRunning(mean: [Float], variance: [Float], count: Int) {
        let correction = count > 1 ? Float(count) / Float(count - 1) : 1
        for j in 0 ..< hidden {
            runningMean[j] = (1 - momentum) * runningMean[j] + momentum * mean[j]
            runningVar[j] = (1 - momentum) * runningVar[j] + momentum * variance[j] * correction
        }
    }

    /// Probabilities for a batch in evaluation mode: running statistics, no dropout, no change to
    /// the model. With `leakBatchStatistics` (M3) the batch's own statistics normalise it and the
    /// running statistics move, as if the model were left in training mode.
    public mutating func predict(_ batch: [[Float]], leakBatchStatistics: Bool = false) -> [Float] {
        guard !batch.isEmpty else { return [] }
        let z = linear1(batch)
        var mean = runningMean, variance = runningVar
        if leakBatchStatistics {
            (mean, variance) = Self.statistics(z, hidden: hidden)
            updateRunning(mean: mean, variance: variance, count: batch.count)
        }
        return z.map { row in
            var out = b2
            for j in 0 ..< hidden {
                let normalised = (row[j] - mean[j]) / (variance[j] + epsilon).squareRoot()
                out += w2[j] * Swift.max(0, gamma[j] * normalised + beta[j])
            }
            return LogisticModel.sigmoid(out)
        }
    }

    /// The gradient of the mean binary cross-entropy of one training batch, and that loss.
    public struct Gradient: Sendable, Equatable {
        public var w1: [Float], b1: [Float], gamma: [Float], beta: [Float], w2: [Float], b2: Float
        public var loss: Float
        /// The flat form, in `parameters` order.
        public var flat: [Float] { w1 + b1 + gamma + beta + w2 + [b2] }
    }

    /// One training-mode forward and backward pass over `batch` (at least two rows): batch
    /// statistics normalise, the running statistics move once, and `keep[r][j]` is row r's dropout
    /// mask for unit j (already scaled by 1/(1-p); nil for no dropout).
    public mutating func trainingGradient(_ batch: [[Float]], labels: [Float], keep: [[Float]]? = nil) -> Gradient {
        precondition(batch.count >= 2 && batch.count == labels.count, "a training batch needs >= 2 rows with labels, got \(batch.count) rows, \(labels.count) labels")
        let n = batch.count, h = hidden
        let z = linear1(batch)
        let (mean, variance) = Self.statistics(z, hidden: h)
        updateRunning(mean: mean, variance: variance, count: n)
        let inverse = variance.map { 1 / ($0 + epsilon).squareRoot() }
        var normalised = z, activation = z, dropped = z
        var loss: Float = 0
        var dOut = [Float](repeating: 0, count: n)
        for r in 0 ..< n {
            var out = b2
            for j in 0 ..< h {
                normalised[r][j] = (z[r][j] - mean[j]) * inverse[j]
                activation[r][j] = Swift.max(0, gamma[j] * normalised[r][j] + beta[j])
                dropped[r][j] = activation[r][j] * (keep?[r][j] ?? 1)
                out += w2[j] * dropped[r][j]
            }
            let p = Swift.min(Swift.max(LogisticModel.sigmoid(out), 1e-7), 1 - 1e-7)
            loss -= labels[r] * logf(p) + (1 - labels[r]) * logf(1 - p)
            dOut[r] = (LogisticModel.sigmoid(out) - labels[r]) / Float(n)
        }
        var g = Gradient(w1: [Float](repeating: 0, count: h * inputs), b1: [Float](repeating: 0, count: h), gamma: [Float](repeating: 0, count: h),
                         beta: [Float](repeating: 0, count: h), w2: [Float](repeating: 0, count: h), b2: 0, loss: loss / Float(n))
        var dNormalised = z
        for r in 0 ..< n {
            g.b2 += dOut[r]
            for j in 0 ..< h {
                g.w2[j] += dOut[r] * dropped[r][j]
                let dActivation = dOut[r] * w2[j] * (keep?[r][j] ?? 1)
                let dPre = gamma[j] * normalised[r][j] + beta[j] > 0 ? dActivation : 0
                g.gamma[j] += dPre * normalised[r][j]
                g.beta[j] += dPre
                dNormalised[r][j] = dPre * gamma[j]
            }
        }
        // Through the normalisation: dz = inv/n * (n dx^ - sum dx^ - x^ sum(dx^ x^)).
        for j in 0 ..< h {
            var sum: Float = 0, dot: Float = 0
            for r in 0 ..< n { sum += dNormalised[r][j]; dot += dNormalised[r][j] * normalised[r][j] }
            for r in 0 ..< n {
                let dz = inverse[j] / Float(n) * (Float(n) * dNormalised[r][j] - sum - normalised[r][j] * dot)
                g.b1[j] += dz
                for i in 0 ..< inputs { g.w1[j * inputs + i] += dz * batch[r][i] }
            }
        }
        return g
    }

    /// Plain SGD: `parameter -= rate * gradient`.
    public mutating func apply(_ g: Gradient, rate: Float) {
        for k in w1.indices { w1[k] -= rate * g.w1[k] }
        for j in 0 ..< hidden {
            b1[j] -= rate * g.b1[j]
            gamma[j] -= rate * g.gamma[j]
            beta[j] -= rate * g.beta[j]
            w2[j] -= rate * g.w2[j]
        }
        b2 -= rate * g.b2
    }
}
