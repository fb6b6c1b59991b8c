/// Dynamic loss scaling as PyTorch's GradScaler does it: start at 2^16; on any inf/NaN gradient,
/// skip the step, halve the scale and reset the clean-step counter; after `growthInterval` clean
/// steps in a row, double the scale.
public struct LossScaler: Sendable, Hashable {
    public private(set) var scale: Float
    public let growthInterval: Int
    public private(set) var cleanSteps = 0
    public private(set) var skippedSteps = 0

    public init(initialScale: Float = 65536, growthInterval: Int = 2000) {
        scale = initialScale
        self.growthInterval = growthInterval
    }

    /// Records one step's outcome; returns true when the step may be applied.
    public mutating func update(foundNonFinite: Bool) -> Bool {
        if foundNonFinite {
            scale *= 0.5
            cleanSteps = 0
            skippedSteps += 1
            return false
        }
        cleanSteps += 1
        if cleanSteps >= growthInterval {
            scale *= 2
            cleanSteps = 0
        }
        return true
    }
}

/// Gradient accumulation over micro-batches: half-precision scaled micro-batch sums are added
/// into an fp32 accumulator, and the result is divided once, by the scale and the total item
/// count (never per micro-batch: that would weight small micro-batches wrongly).
///
/// Defect M2 (`halfPrecision`): the unnormalised micro-batch sums are added in fp16, as they
/// come. Their total passes 65504 long before any one of them does, so a large batch overflows to
/// infinity where the same batch as one micro-batch, or accumulated in fp32, does not (32 x 1 !=
/// 1 x 32), and what does not overflow is rounded to fp16's 11 bits.
public struct GradientAccumulator: Sendable {
    public private(set) var sum: [Float]
    public private(set) var items = 0
    public private(set) var foundNonFinite = false
    public let halfPrecision: Bool
    private var halfSum: [Float16]

    public init(parameterCount: Int, halfPrecision: Bool = false) {
        sum = [Float](repeating: 0, count: parameterCount)
        halfSum = [Float16](repeating: 0, count: parameterCount)
        self.halfPrecision = halfPrecision
    }

    public mutating func add(_ microBatchSum: [Float16], items count: Int) {
        for j in 0 ..< sum.count {
            if halfPrecision {
                halfSum[j] += microBatchSum[j]  // M2: the running total in fp16
                sum[j] = Float(halfSum[j])
                if !halfSum[j].isFinite { foundNonFinite = true }
                continue
            }
            let value = Float(microBatchSum[j])
            if !value.isFinite { foundNonFinite = true }
            sum[j] += value
        }
        items += count
    }

    /// The mean unscaled gradient.
    public func gradient(scale: Float) -> [Float] {
        let divisor = scale * Float(max(1, items))
        return sum.map { $0 / divisor }
    }
}

/// Linear warm-up to `base` over `warmupSteps`, then cosine decay to `base * floorFraction` at
/// `totalSteps`. `rate(step:)` is the rate of optimizer step `step` (0-based): the scheduler
/// advances after the optimizer step, never before.
public struct LearningRateSchedule: Sendable, Hashable {
    public var base: Float
    public var warmupSteps: Int
    public var totalSteps: Int
    public var floorFraction: Float = 0.1

    public init(base: Float, warmupSteps: Int, totalSteps: Int) {
        self.base = base
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
    }

    public func rate(step: Int) -> Float {
        if step < warmupSteps { return base * Float(step + 1) / Float(warmupSteps) }
        let span = max(1, totalSteps - warmupSteps)
        let progress = min(1, Float(step - warmupSteps) / Float(span))
        let cosine = (1 + cosf(Float.pi * progress)) / 2
        return base * (floorFraction + (1 - floorFraction) * cosine)
    }
}

#if canImport(Glibc)
import Glibc
#endif
