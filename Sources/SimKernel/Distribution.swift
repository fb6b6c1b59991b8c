/// A distribution of non-negative integer nanoseconds: link latencies, disk latencies, think times.
public enum DurationDistribution: Hashable, Sendable, Codable, CustomStringConvertible {
    /// Always the same value.
    case constant(Int64)
    /// Uniform over `min ... max`.
    case uniform(min: Int64, max: Int64)
    /// `min` plus an exponential with mean `mean`, cut at `max` (a queueing-like delay).
    case exponential(min: Int64, mean: Int64, max: Int64)
    /// A bounded Pareto over `min ... max` with shape `alphaPercent / 100`: most draws near `min`,
    /// a long but bounded tail up to `max`. The usual model of network latency tails.
    case boundedPareto(min: Int64, max: Int64, alphaPercent: Int64)

    /// Draws one value from the given stream.
    public func sample(_ random: inout SimRandom) -> Int64 {
        switch self {
        case .constant(let value):
            return value
        case .uniform(let lo, let hi):
            return random.uniform(lo ... hi)
        case .exponential(let lo, let mean, let hi):
            return Swift.min(hi, lo &+ random.exponential(meanNanoseconds: mean))
        case .boundedPareto(let lo, let hi, let alphaPercent):
            let low = Double(Swift.max(1, lo)), high = Double(Swift.max(lo + 1, hi))
            let alpha = Double(alphaPercent) / 100
            let u = random.unitDouble()
            let ratio = power(low / high, alpha)
            let x = low / power(1 - u * (1 - ratio), 1 / alpha)
            return Swift.min(hi, Swift.max(lo, Int64(x.rounded())))
        }
    }

    /// Why this distribution cannot be used (a negative time, bounds the wrong way round, a value
    /// above `limit` nanoseconds whose sums could overflow the clock), or nil when it can. Seed files
    /// are input: a replay checks every distribution before it runs.
    public func problem(limit: Int64) -> String? {
        func outOfRange(_ name: String, _ value: Int64) -> String? {
            (0 ... limit).contains(value) ? nil : "\(name) \(value) ns is out of range 0...\(limit)"
        }
        switch self {
        case .constant(let value):
            return outOfRange("value", value)
        case .uniform(let lo, let hi):
            if let problem = outOfRange("min", lo) ?? outOfRange("max", hi) { return problem }
            return lo <= hi ? nil : "min \(lo) ns is above max \(hi) ns"
        case .exponential(let lo, let mean, let hi):
            if let problem = outOfRange("min", lo) ?? outOfRange("mean", mean) ?? outOfRange("max", hi) { return problem }
            return lo <= hi ? nil : "min \(lo) ns is above max \(hi) ns"
        case .boundedPareto(let lo, let hi, let alphaPercent):
            if let problem = outOfRange("min", lo) ?? outOfRange("max", hi) { return problem }
            if lo > hi { return "min \(lo) ns is above max \(hi) ns" }
            return (1 ... 1000).contains(alphaPercent) ? nil : "alpha_percent \(alphaPercent) is out of range 1...1000"
        }
    }

    /// The largest value a draw can take.
    public var maximum: Int64 {
        switch self {
        case .constant(let v): return v
        case .uniform(_, let hi), .exponential(_, _, let hi), .boundedPareto(_, let hi, _): return hi
        }
    }

    public var description: String {
        switch self {
        case .constant(let v): return "constant(\(formatNanoseconds(v)))"
        case .uniform(let a, let b): return "uniform(\(formatNanoseconds(a))..\(formatNanoseconds(b)))"
        case .exponential(let a, let m, let b):
            return "exponential(min \(formatNanoseconds(a)), mean \(formatNanoseconds(m)), max \(formatNanoseconds(b)))"
        case .boundedPareto(let a, let b, let alpha):
            return "pareto(\(formatNanoseconds(a))..\(formatNanoseconds(b)), alpha \(alpha)/100)"
        }
    }
}
