import SimKernel
import SimServices

/// API key comparison in constant time: auth's comparisons of a presented key's digest with the
/// stored one all take the same time, whatever prefix they share (I8 stops at the first differing
/// byte, so a longer match takes longer: a timing oracle for the stored digest).
public final class KeyTimingChecker: SecurityObservationsChecker, Checker {
    public static let name = "key-timing"
    public override var name: String { Self.name }
    public static func whyItCannotFire(in scenario: Scenario) -> String? { authSessionsMissing(scenario) }
    /// The first comparison seen: every later one must have taken as long.
    var reference: (matched: Int, spent: Int64)?

    public override func check(_ simulation: Simulation) -> String? {
        guard let observations else { return nil }
        return judgeNew(observations.keyComparisons, from: &checked) { comparison in
            guard let reference else { reference = (comparison.matched, comparison.spent); return nil }
            return comparison.spent == reference.spent ? nil
                : "auth compared a key digest sharing \(comparison.matched) leading byte(s) with \(comparison.user)'s in \(comparison.spent / Nanos.microsecond) µs "
                    + "and one sharing \(reference.matched) in \(reference.spent / Nanos.microsecond) µs at \(formatNanoseconds(comparison.at)): the comparison's time depends on the matching prefix"
        }
    }

    public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { ["auth"] }
}
