import SimKernel

/// A training run of the MLP as the workers run it for scenario 02, with every draw derived from
/// the job's seed: the initialiser from (seed, "init"), epoch e's data order from (seed, e), sample
/// i's augmentation in epoch e from (seed, e, i), step k's dropout masks from (seed, k). So
/// (seed, code version, dataset digest) fixes the parameter hash at every step, in any process.
///
/// The loop is pure (no clock, no I/O): the worker drives it step by step and does the waiting,
/// logging and reporting. Draws that are *not* seeded come from `entropy`, which the worker
/// connects to its own process's generator: that is where the defects' draws come from.
/// - M5 (`shuffleEachEpoch` false): the order is drawn from (seed) alone: every epoch the same.
/// - M9 (`seededAugmenter` false): the augmenter takes the seed and ignores it (draws `entropy`).
/// - E3: the run's seed never reached the worker (`spec.seed` nil): every draw falls back to a seed
///   from `entropy`, the worker process's own.
/// - M6 (`restartLate`): the shared SGDR schedule restarts at period + 1.
/// - M3 (`leakBatchStatistics`): evaluation normalises with batch statistics and moves the running ones.
/// - M8 (`applyNonFinite`): a step whose half-precision gradient overflowed is applied (the
///   parameters become infinite or NaN) and the loss scale is never lowered.
///
/// Mixed precision: the gradient is multiplied by the loss scale and rounded to `Float16`, as an
/// fp16 backward pass produces it, then unscaled in fp32. The scale starts at 2^24 (DeepSpeed
/// starts at 2^32, PyTorch at 2^16): the first steps overflow, are skipped and halve the scale until
/// the gradient fits, as a real run's first steps do; 50 clean steps in a row double it again. A
/// skipped step does not step the scheduler (nothing was optimised).
public final class ReproducibleTraining {
    /// What a run trains: the job as the worker received it.
    public struct Spec: Codable, Sendable, Equatable {
        public var name: String
        public var run: Int64
        /// The job's seed; nil when it was not passed on (E3).
        public var seed: UInt64?
        public var dataset: String
        public var code: String
        public var epochs: Int
        public var batchSize: Int
        public var learningRate: Double
        public var hidden: Int
        public var dropout: Double
        /// SGDR's first period (steps) and its growth factor.
        public var restartPeriod: Int
        public var restartGrowth: Int

        public init(name: String, run: Int64, seed: UInt64?, dataset: String, code: String, epochs: Int = 4, batchSize: Int = 32, learningRate: Double = 0.1,
                    hidden: Int = 16, dropout: Double = 0.1, restartPeriod: Int = 8, restartGrowth: Int = 2) {
            self.name = name
            self.run = run
            self.seed = seed
            self.dataset = dataset
            self.code = code
            self.epochs = epochs
            self.batchSize = batchSize
            self.learningRate = learningRate
            self.hidden = hidden
            self.dropout = dropout
            self.restartPeriod = restartPeriod
            self.restartGrowth = restartGrowth
        }
    }

    /// Which code paths run (the defects' switches; all false is the correct platform).
    public struct Variant: Sendable, Equatable {
        public var unshuffledEpochs = false
        public var unseededAugmenter = false
        public var restartLate = false
        public var leakBatchStatistics = false
        public var applyNonFinite = false
        public init(unshuffledEpochs: Bool = false, unseededAugmenter: Bool = false, restartLate: Bool = false, leakBatchStatistics: Bool = false,
                    applyNonFinite: Bool = false) {
            self.applyNonFinite = applyNonFinite
            self.unshuffledEpochs = unshuffledEpochs
            self.unseededAugmenter = unseededAugmenter
            self.restartLate = restartLate
            self.leakBatchStatistics = leakBatchStatistics
        }
    }

    /// One optimizer step's outcome.
    public struct Step: Sendable, Equatable {
        public var epoch: Int
        public var step: Int
        /// The rate this step applied (read before the scheduler stepped).
        public var rate: Double
        /// Optimizer steps applied before this one (the scheduler's position).
        public var optimizerStep: Int
        /// The loss scale this step's gradient was computed at.
        public var scale: Float
        /// Whether the half-precision gradient overflowed.
        public var overflowed: Bool
        /// Whether the step was skipped (nothing applied, the scheduler not stepped).
        public var skipped: Bool
        /// Whether every parameter and running statistic is finite after the step.
        public var finite: Bool
        public var loss: Float
        /// `BatchNormMLP.stateHash` after the step.
        public var stateHash: String
    }

    /// One evaluation on the validation rows.
    public struct Evaluation: Sendable, Equatable {
        public var epoch: Int
        public var auc: Double
        /// Whether evaluating left the model (parameters and running statistics) unchanged.
        public var modelUnchanged: Bool
        /// The first validation row's probability scored alone and scored within the whole set:
        /// equal when evaluation does not depend on batch neighbours.
        public var alone: Float
        public var inBatch: Float
    }

    public let spec: Spec
    public let variant: Variant
    /// The seed every draw derives from (the job's, or the worker's own under E3).
    public let seed: UInt64
    public let train: [Example]
    public let validation: [Example]
    public private(set) var model: BatchNormMLP
    public private(set) var schedule: WarmRestartsSchedule
    public private(set) var scaler = LossScaler(initialScale: 16_777_216, growthInterval: 50)
    public private(set) var optimizerSteps = 0
    public private(set) var epoch = 0
    public private(set) var step = 0
    /// The current epoch's order of the training rows, and the position in it.
    public private(set) var order: [Int] = []
    var position = 0
    let entropy: () -> UInt64

    /// Splits `rows` (the last fifth validates) and initialises the model.
    public init(spec: Spec, rows: [Example], variant: Variant = Variant(), entropy: @escaping () -> UInt64) {
        precondition(Self.problem(spec, rowCount: rows.count) == nil, Self.problem(spec, rowCount: rows.count) ?? "")
        self.spec = spec
        self.variant = variant
        self.entropy = entropy
        seed = spec.seed ?? entropy()
        let cut = rows.count - rows.count / 5
        train = Array(rows[..<cut])
        validation = Array(rows[cut...])
        var initialiser = SimRandom(rootSeed: seed, stream: "init")
        model = BatchNormMLP(inputs: rows[0].features.count, hidden: spec.hidden, random: &initialiser)
        schedule = WarmRestartsSchedule(base: spec.learningRate, etaMin: spec.learningRate / 100, t0: spec.restartPeriod, tMult: spec.restartGrowth,
                                        restartLate: variant.restartLate)
        order = Self.order(count: train.count, seed: seed, epoch: variant.unshuffledEpochs ? nil : 0)
    }

    /// Why `spec` cannot train on `rowCount` rows, or nil: at least 10 rows, batches of 2 up to the
    /// training rows (four fifths), an epoch, a hidden unit, dropout in [0, 1), a restart period.
    public static func problem(_ spec: Spec, rowCount: Int) -> String? {
        let training = rowCount - rowCount / 5
        if rowCount < 10 { return "\(rowCount) rows: a run needs at least 10" }
        if spec.batchSize < 2 || spec.batchSize > training { return "batch size \(spec.batchSize) is not in 2...\(training) (the training rows)" }
        if spec.epochs < 1 || spec.hidden < 1 || spec.restartPeriod < 1 || spec.restartGrowth < 1 { return "epochs, hidden units, restart period and growth must be at least 1" }
        if !(spec.dropout >= 0 && spec.dropout < 1) { return "dropout \(spec.dropout) is not in [0, 1)" }
        return nil
    }

    /// Full batches per epoch (a last partial batch is dropped, as `drop_last` does).
    public var stepsPerEpoch: Int { train.count / spec.batchSize }
    public var totalSteps: Int { stepsPerEpoch * spec.epochs }
    public var finished: Bool { epoch >= spec.epochs }

    /// Epoch `epoch`'s order of `count` rows: a permutation drawn from (seed, epoch), or from
    /// (seed) alone when `epoch` is nil (M5).
    public static func order(count: Int, seed: UInt64, epoch: Int?) -> [Int] {
        var indices = Array(0 ..< count)
        var random = SimRandom(rootSeed: seed, stream: epoch.map { "order/\($0)" } ?? "order")
        random.shuffle(&indices)
        return indices
    }

    /// Sample `index` of epoch `epoch`, augmented with Gaussian jitter (sigma 0.05 per feature).
    func augmented(_ index: Int) -> [Float] {
        var random = variant.unseededAugmenter ? SimRandom(seed: entropy()) : SimRandom(rootSeed: seed, stream: "augment/\(epoch)/\(index)")
        return train[index].features.map { $0 + Float(random.normal() * 0.05) }
    }

    /// Runs the next optimizer step (the optimizer first, then the scheduler); nil once finished.
    /// Crossing an epoch boundary draws the next epoch's order.
    public func nextStep() -> Step? {
        guard !finished else { return nil }
        let indices = Array(order[position ..< position + spec.batchSize])
        let rows = indices.map(augmented)
        var dropout = SimRandom(rootSeed: seed, stream: "dropout/\(step)")
        let keepScale = Float(1 / (1 - spec.dropout))
        let keep = rows.map { _ in (0 ..< spec.hidden).map { _ in dropout.unitDouble() < spec.dropout ? 0 : keepScale } }
        let gradient = model.trainingGradient(rows, labels: indices.map { train[$0].label }, keep: keep)
        let rate = schedule.rate, scale = scaler.scale, applied = optimizerSteps
        // The fp16 gradient: scaled, rounded to half precision, unscaled in fp32.
        var half = gradient
        func fp16(_ values: [Float]) -> [Float] { values.map { Float(Float16($0 * scale)) / scale } }
        half.w1 = fp16(gradient.w1)
        half.b1 = fp16(gradient.b1)
        half.gamma = fp16(gradient.gamma)
        half.beta = fp16(gradient.beta)
        half.w2 = fp16(gradient.w2)
        half.b2 = fp16([gradient.b2])[0]
        let overflowed = !half.flat.allSatisfy(\.isFinite)
        var skipped = false
        if variant.applyNonFinite {
            model.apply(half, rate: Float(rate))  // M8: whatever came out, scale untouched
            schedule.step()
            optimizerSteps += 1
        } else if scaler.update(foundNonFinite: overflowed) {
            model.apply(half, rate: Float(rate))
            schedule.step()
            optimizerSteps += 1
        } else {
            skipped = true
        }
        let done = Step(epoch: epoch, step: step, rate: rate, optimizerStep: applied, scale: scale, overflowed: overflowed, skipped: skipped, finite: model.state.allSatisfy(\.isFinite),
                        loss: gradient.loss, stateHash: model.stateHash)
        step += 1
        position += spec.batchSize
        if position + spec.batchSize > train.count {
            epoch += 1
            position = 0
            if !finished { order = Self.order(count: train.count, seed: seed, epoch: variant.unshuffledEpochs ? nil : epoch) }
        }
        return done
    }

    /// Evaluates on the validation rows (after the epoch that just ended).
    public func evaluate() -> Evaluation {
        let before = model.stateHash
        var copy = model  // scored alone on a copy, so that M3's update of the statistics stays out of the model
        let alone = copy.predict([validation[0].features], leakBatchStatistics: variant.leakBatchStatistics)[0]
        let scores = model.predict(validation.map(\.features), leakBatchStatistics: variant.leakBatchStatistics)
        let unchanged = model.stateHash == before  // bits, not ==: a NaN model is unchanged too
        return Evaluation(epoch: Swift.max(0, epoch - 1), auc: rocAUC(scores: scores, labels: validation.map(\.label)) ?? 0.5, modelUnchanged: unchanged,
                          alone: alone, inBatch: scores[0])
    }
}
