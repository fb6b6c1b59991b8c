/// SplitMix64 (Steele, Lea, Flood 2014): used to expand one 64-bit seed into generator state.
/// Matches the reference `splitmix64.c` by Sebastiano Vigna bit for bit.
public struct SplitMix64: Sendable {
    public var state: UInt64
    @inlinable public init(seed: UInt64) { state = seed }
    @inlinable public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// xoshiro256** 1.0 (Blackman, Vigna 2018): the project's generator. Fast, 256 bits of state,
/// passes BigCrush; matches the reference `xoshiro256starstar.c` bit for bit.
public struct Xoshiro256StarStar: RandomNumberGenerator, Sendable {
    public var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    /// Raw state, as the reference implementation takes it. The state must not be all zero.
    public init(state: (UInt64, UInt64, UInt64, UInt64)) {
        precondition(state != (0, 0, 0, 0), "xoshiro256** state must not be all zero")
        (s0, s1, s2, s3) = state
    }

    /// Seeds the four state words from SplitMix64, as the authors recommend.
    public init(seed: UInt64) {
        var sm = SplitMix64(seed: seed)
        self.init(state: (sm.next(), sm.next(), sm.next(), sm.next()))
    }

    @inlinable public mutating func next() -> UInt64 {
        let result = rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotl(s3, 45)
        return result
    }

    @inlinable func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
}

/// FNV-1a over bytes: a stable hash for names (stream names, call sites, trace kinds).
/// Swift's `Hasher` is seeded per process, so it must never be used for anything that
/// reaches a decision or the fingerprint.
@inlinable public func stableHash(_ string: String) -> UInt64 {
    // Over the contiguous UTF-8 when the string has it (native and small strings do): the view's
    // iterator costs a branch per byte, and this runs for every trace record's node and actor.
    string.utf8.withContiguousStorageIfAvailable { fnv1a($0) } ?? fnv1a(string.utf8)
}

/// FNV-1a over bytes, continuing from `seed` (for digests of message content).
@inlinable public func stableHash(_ bytes: [UInt8], seed: UInt64 = 0xCBF2_9CE4_8422_2325) -> UInt64 { fnv1a(bytes, seed: seed) }

/// FNV-1a 64 over any bytes, from `seed` (the offset basis by default).
@inlinable public func fnv1a<Bytes: Sequence>(_ bytes: Bytes, seed: UInt64 = 0xCBF2_9CE4_8422_2325) -> UInt64 where Bytes.Element == UInt8 {
    var hash = seed
    for byte in bytes {
        hash ^= UInt64(byte)
        hash &*= 0x0000_0100_0000_01B3
    }
    return hash
}

/// Mixes two 64-bit values into one (the SplitMix64 finaliser on their combination).
@inlinable public func mix64(_ a: UInt64, _ b: UInt64) -> UInt64 {
    var z = a &+ 0x9E37_79B9_7F4A_7C15 &* (b | 1) ^ (b &* 0xD6E8_FEB8_6659_FD93)
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}

/// An exact probability `numerator / denominator`. Floats are never used for chances, so a
/// probability written in a seed file means the same thing on every machine.
public struct Ratio: Hashable, Sendable, Codable, CustomStringConvertible {
    public var numerator: UInt64
    public var denominator: UInt64

    public init(_ numerator: UInt64, _ denominator: UInt64) {
        precondition(denominator > 0, "Ratio denominator must be positive, got \(numerator)/\(denominator)")
        precondition(numerator <= denominator, "Ratio must be at most 1, got \(numerator)/\(denominator)")
        self.numerator = numerator
        self.denominator = denominator
    }

    /// Decodes `{"numerator": N, "denominator": D}` and refuses what `init` would trap on (a
    /// denominator of 0, a chance above 1): a seed file is input, and input never traps.
    public init(from decoder: Decoder) throws {
        enum Keys: String, CodingKey { case numerator, denominator }
        let container = try decoder.container(keyedBy: Keys.self)
        let numerator = try container.decode(UInt64.self, forKey: .numerator)
        let denominator = try container.decode(UInt64.self, forKey: .denominator)
        guard denominator > 0 else {
            throw DecodingError.dataCorruptedError(forKey: .denominator, in: container, debugDescription: "a probability's denominator must be positive, got 0")
        }
        guard numerator <= denominator else {
            throw DecodingError.dataCorruptedError(forKey: .numerator, in: container,
                                                   debugDescription: "a probability is at most 1, got \(numerator)/\(denominator)")
        }
        self.init(numerator, denominator)
    }

    public static let zero = Ratio(0, 1)
    public static let one = Ratio(1, 1)
    public var isZero: Bool { numerator == 0 }
    public var description: String { "\(numerator)/\(denominator)" }
}

/// A seeded random stream of one simulation. Every draw inside a simulation comes from one of these.
public struct SimRandom: RandomNumberGenerator, Sendable {
    @usableFromInline var generator: Xoshiro256StarStar

    /// A stream derived from `(rootSeed, name)`: adding a new stream never changes another's draws.
    public init(rootSeed: UInt64, stream name: String) {
        var sm = SplitMix64(seed: rootSeed)
        let base = sm.next()
        generator = Xoshiro256StarStar(seed: mix64(base, stableHash(name)))
    }

    public init(seed: UInt64) { generator = Xoshiro256StarStar(seed: seed) }

    @inlinable public mutating func next() -> UInt64 { generator.next() }

    /// Uniform in `0 ..< bound` without modulo bias (Lemire's multiply-and-reject).
    @inlinable public mutating func uniform(below bound: UInt64) -> UInt64 {
        precondition(bound > 0, "uniform(below:) needs a positive bound")
        var product = next().multipliedFullWidth(by: bound)
        if product.low < bound {
            let threshold = (0 &- bound) % bound
            while product.low < threshold { product = next().multipliedFullWidth(by: bound) }
        }
        return product.high
    }

    /// Uniform integer in a closed range.
    public mutating func uniform(_ range: ClosedRange<Int64>) -> Int64 {
        let span = UInt64(bitPattern: range.upperBound &- range.lowerBound) &+ 1
        if span == 0 { return Int64(bitPattern: next()) }  // the full 64-bit range
        return range.lowerBound &+ Int64(bitPattern: uniform(below: span))
    }

    /// Uniform integer in a half-open range of `Int`.
    public mutating func uniform(_ range: Range<Int>) -> Int {
        precondition(!range.isEmpty, "uniform over an empty range")
        return range.lowerBound + Int(uniform(below: UInt64(range.count)))
    }

    /// True with exactly the probability `ratio`.
    @inlinable public mutating func chance(_ ratio: Ratio) -> Bool {
        if ratio.numerator == 0 { return false }
        if ratio.numerator == ratio.denominator { return true }
        return uniform(below: ratio.denominator) < ratio.numerator
    }

    /// A double uniform in [0, 1) with 53 random bits. For numerics (ML data), not for time.
    public mutating func unitDouble() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// Exponentially distributed nanoseconds with the given mean, rounded to an integer.
    /// Inverse transform; `log` is the platform's correctly rounded-enough libm function.
    public mutating func exponential(meanNanoseconds mean: Int64) -> Int64 {
        precondition(mean >= 0, "exponential mean must be non-negative, got \(mean)")
        let u = 1.0 - unitDouble()  // in (0, 1]
        let x = -u.logValue * Double(mean)
        return x >= 9.0e18 ? Int64.max / 2 : Int64(x.rounded())
    }

    /// A standard normal variate (Box-Muller), for synthetic data.
    public mutating func normal() -> Double {
        let u1 = 1.0 - unitDouble()
        let u2 = unitDouble()
        return (-2.0 * u1.logValue).squareRoot() * cosine(2.0 * Double.pi * u2)
    }

    /// Shuffles in place (Fisher-Yates), deterministic for the stream.
    @inlinable public mutating func shuffle<T>(_ array: inout [T]) {
        guard array.count > 1 else { return }
        for i in stride(from: array.count - 1, to: 0, by: -1) {
            let j = Int(uniform(below: UInt64(i + 1)))
            array.swapAt(i, j)
        }
    }
}

// Thin wrappers over libm so this file needs no Foundation import.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Double {
    @usableFromInline var logValue: Double { log(self) }
}
@usableFromInline func cosine(_ x: Double) -> Double { cos(x) }
@usableFromInline func power(_ x: Double, _ y: Double) -> Double { pow(x, y) }
