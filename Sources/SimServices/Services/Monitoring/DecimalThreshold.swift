// A decimal threshold compared exactly with binary doubles.
//
// Why: drift decisions are "p <= 0.05" or "distance >= 0.1", and neither 0.05 nor 0.1 is a
// double. Comparing against the nearest double (0.05000000000000000277...) silently moves the
// boundary; a deterministic simulator wants the decision to be the one the decimal states.
// Every comparison here is decided with integer arithmetic on the double's significand and
// exponent, so the answer is exact for every finite double.

/// A non-negative threshold written as an exact decimal ("0.05", "0.1", "0.5", "1", ".5", "1e-3")
/// and compared *exactly* with doubles: `isAtMost(x)` is true iff the real number `x` is
/// `<=` the decimal's exact value (not the value of the double nearest to it).
///
/// NaN is never at most or at least anything: every comparison returns `false` for NaN, so
/// callers must decide what a NaN score means (see `DriftStatistics.isDrift`).
public struct DecimalThreshold: Sendable, Equatable, CustomStringConvertible {
    /// Exact value is `numerator / 10^scale`, normalised: no trailing zero digit in
    /// `numerator` when `scale > 0`, and `scale == 0` when the value is zero.
    let numerator: UInt64
    /// Number of decimal places of the normalised value (0 for integers).
    let scale: Int

    /// Parses a decimal written as `digits`, `digits.digits` or `.digits`, optionally followed by
    /// an exponent `e`/`E` with an optional sign and at most 3 digits (`"1e-3"`, `"5E-2"`).
    /// Returns nil for malformed text: empty, signs in front ("-0.1", "+0.1"), whitespace,
    /// a trailing dot ("5."), several dots ("0.05.1"), letters ("abc"), or values whose
    /// normalised significand needs more than 19 digits.
    public init?(_ text: String) {
        var chars = Array(text.utf8)[...]
        var exponent = 0
        if let e = chars.firstIndex(where: { $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }) {
            var expPart = chars[(e + 1)...]
            chars = chars[..<e]
            var negative = false
            if let s = expPart.first, s == UInt8(ascii: "-") || s == UInt8(ascii: "+") {
                negative = s == UInt8(ascii: "-")
                expPart = expPart.dropFirst()
            }
            guard !expPart.isEmpty, expPart.count <= 3, expPart.allSatisfy(Self.isDigit) else { return nil }
            exponent = expPart.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
            if negative { exponent = -exponent }
        }
        let dot = chars.firstIndex(of: UInt8(ascii: "."))
        let intPart = dot.map { chars[..<$0] } ?? chars
        var fracPart = dot.map { chars[($0 + 1)...] } ?? chars[chars.endIndex...]
        guard intPart.allSatisfy(Self.isDigit), fracPart.allSatisfy(Self.isDigit),
              !(intPart.isEmpty && fracPart.isEmpty), dot == nil || !fracPart.isEmpty
        else { return nil }
        // Trailing fractional zeros carry no value; dropping them first keeps "0.0500000..." parseable.
        while let last = fracPart.last, last == UInt8(ascii: "0") { fracPart = fracPart.dropLast() }
        var n: UInt64 = 0
        for digit in intPart + fracPart {
            let (m, o1) = n.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(UInt64(digit - UInt8(ascii: "0")))
            guard !o1, !o2 else { return nil }
            n = s
        }
        var scale = fracPart.count - exponent
        while scale < 0 {
            let (m, o) = n.multipliedReportingOverflow(by: 10)
            guard !o else { return nil }
            n = m
            scale += 1
        }
        while scale > 0, n % 10 == 0 { n /= 10; scale -= 1 }
        self.numerator = n
        self.scale = n == 0 ? 0 : scale
    }

    private static func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }

    /// The normalised decimal text: "0.05", "0.1", "1", "0.001" (for "1e-3"), "0.5" (for ".50").
    public var description: String {
        guard scale > 0 else { return String(numerator) }
        let digits = String(numerator)
        let padded = String(repeating: "0", count: max(0, scale + 1 - digits.count)) + digits
        let cut = padded.index(padded.endIndex, offsetBy: -scale)
        return String(padded[..<cut]) + "." + String(padded[cut...])
    }

    /// The double nearest to the exact value (Swift's string-to-double conversion rounds
    /// correctly). For display and for APIs that need a Double; never used in comparisons here.
    public var approximateValue: Double { Double(description) ?? .nan }

    /// True iff `x <= value` exactly. False for NaN.
    public func isAtMost(_ x: Double) -> Bool { (compare(x, times: 1, dividedBy: 1) ?? 1) <= 0 }

    /// True iff `x >= value` exactly. False for NaN.
    public func isAtLeast(_ x: Double) -> Bool { (compare(x, times: 1, dividedBy: 1) ?? -1) >= 0 }

    /// True iff `x <= value / m` exactly (Bonferroni's per-test level). False for NaN or `m < 1`.
    public func isAtMost(_ x: Double, dividedBy m: Int) -> Bool { isAtMost(x, times: 1, dividedBy: m) }

    /// True iff `x <= value * k / m` exactly (Benjamini-Hochberg's `k * alpha / m`).
    /// False for NaN, `k < 0` or `m < 1`.
    public func isAtMost(_ x: Double, times k: Int, dividedBy m: Int) -> Bool {
        guard k >= 0, m >= 1 else { return false }
        return (compare(x, times: UInt64(k), dividedBy: UInt64(m)) ?? 1) <= 0
    }

    /// True iff `count / total >= value` exactly, i.e. `count * 10^scale >= numerator * total`.
    /// False when `total < 1` or `count < 0`.
    public func isShareAtLeast(_ count: Int, of total: Int) -> Bool {
        guard total >= 1, count >= 0 else { return false }
        var lhs = BigUInt(UInt64(count))
        for _ in 0..<scale { lhs.multiply(by: 10) }
        var rhs = BigUInt(numerator)
        rhs.multiply(by: UInt64(total))
        return BigUInt.compare(lhs, rhs) >= 0
    }

    /// Sign of `x * m * 10^scale - numerator * k` (the sign of `x - value * k / m`), nil for NaN.
    /// Why integers: a finite double is exactly `M * 2^q` with integer `M`, so the comparison
    /// reduces to comparing two (possibly long) integers after moving `2^q` to one side.
    func compare(_ x: Double, times k: UInt64, dividedBy m: UInt64) -> Int? {
        if x.isNaN { return nil }
        let rhsIsZero = numerator == 0 || k == 0
        if x.isInfinite { return x > 0 ? 1 : -1 }
        if x < 0 { return -1 }
        if x == 0 { return rhsIsZero ? 0 : -1 }
        if rhsIsZero { return 1 }
        let bits = x.significandBitPattern
        let (significand, q): (UInt64, Int) = x.isNormal
            ? ((1 << 52) | bits, Int(x.exponentBitPattern) - 1075)
            : (bits, -1074)
        var lhs = BigUInt(significand)
        lhs.multiply(by: m)
        for _ in 0..<scale { lhs.multiply(by: 10) }
        var rhs = BigUInt(numerator)
        rhs.multiply(by: k)
        if q >= 0 { lhs.shiftLeft(by: q) } else { rhs.shiftLeft(by: -q) }
        return BigUInt.compare(lhs, rhs)
    }
}

/// Minimal unsigned big integer (little-endian 64-bit limbs): just what exact comparison needs.
struct BigUInt {
    var limbs: [UInt64]

    init(_ value: UInt64) { limbs = [value] }

    mutating func multiply(by factor: UInt64) {
        var carry: UInt64 = 0
        for i in limbs.indices {
            let (hi, lo) = limbs[i].multipliedFullWidth(by: factor)
            let (sum, overflow) = lo.addingReportingOverflow(carry)
            limbs[i] = sum
            carry = hi &+ (overflow ? 1 : 0)
        }
        if carry != 0 { limbs.append(carry) }
    }

    mutating func shiftLeft(by bits: Int) {
        guard bits > 0 else { return }
        let words = bits / 64, rest = bits % 64
        if rest > 0 {
            var carry: UInt64 = 0
            for i in limbs.indices {
                let v = limbs[i]
                limbs[i] = (v << UInt64(rest)) | carry
                carry = v >> UInt64(64 - rest)
            }
            if carry != 0 { limbs.append(carry) }
        }
        limbs.insert(contentsOf: repeatElement(0, count: words), at: 0)
    }

    /// -1, 0 or 1 as `a` is less than, equal to or greater than `b`.
    static func compare(_ a: BigUInt, _ b: BigUInt) -> Int {
        func significantCount(_ l: [UInt64]) -> Int {
            var n = l.count
            while n > 0, l[n - 1] == 0 { n -= 1 }
            return n
        }
        let na = significantCount(a.limbs), nb = significantCount(b.limbs)
        if na != nb { return na < nb ? -1 : 1 }
        var i = na - 1
        while i >= 0 {
            if a.limbs[i] != b.limbs[i] { return a.limbs[i] < b.limbs[i] ? -1 : 1 }
            i -= 1
        }
        return 0
    }
}
