/// Amounts of a quota (GPU hours, storage GB...) as exact integers of thousandths: "1.5" is 1500.
/// Floating point is what this avoids: 0.1 + 0.2 > 0.3 in binary floating point, so a tenant with a
/// quota of 0.3 would be refused its third reservation of 0.1 (or, the other way round, an
/// accumulated rounding error lets usage pass the quota by an epsilon). Decimal text in, integers
/// in the database, exact sums.
public enum MilliUnits {
    public static let scale: Int64 = 1000
    /// The largest amount accepted (so that sums of many never overflow).
    public static let maximum: Int64 = 1_000_000_000_000

    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case notADecimal(String)
        case tooPrecise(String)
        case outOfRange(String)
        public var description: String {
            switch self {
            case .notADecimal(let text): return "'\(text)' is not a decimal amount (digits, at most one '.')"
            case .tooPrecise(let text): return "'\(text)' has more than 3 decimal places"
            case .outOfRange(let text): return "'\(text)' is outside 0...\(MilliUnits.maximum / MilliUnits.scale)"
            }
        }
    }

    /// Parses a non-negative decimal with at most three decimal places ("2", "0.25", "1.500").
    public static func parse(_ text: String) throws(ParseError) -> Int64 {
        let parts = text.splitBytes(".", omittingEmptySubsequences: false)
        guard (1 ... 2).contains(parts.count), !parts[0].isEmpty, parts.allSatisfy({ $0.allSatisfy { $0.isASCII && $0.isNumber } }),
              parts.count == 1 || !parts[1].isEmpty else { throw .notADecimal(text) }
        let fraction = parts.count == 2 ? parts[1] : ""
        guard fraction.count <= 3 else { throw .tooPrecise(text) }
        guard parts[0].count <= 13, let whole = Int64(parts[0]) else { throw .outOfRange(text) }
        let milli = whole * scale + (Int64(fraction + String(repeating: "0", count: 3 - fraction.count)) ?? 0)
        guard milli <= maximum else { throw .outOfRange(text) }
        return milli
    }

    /// The decimal text of `milli` ("1.5", "2", "0.001").
    public static func text(_ milli: Int64) -> String {
        let whole = milli / scale, fraction = milli % scale
        guard fraction != 0 else { return "\(whole)" }
        var digits = String(fraction)
        digits = String(repeating: "0", count: 3 - digits.count) + digits
        while digits.hasSuffix("0") { digits.removeLast() }
        return "\(whole).\(digits)"
    }
}
