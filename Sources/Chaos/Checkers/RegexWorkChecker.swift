import SimKernel
import SimServices

/// Searches cost work linear in the input: every regular-expression match took at most
/// 2 x instructions x (input length + 1) steps, the Pike VM's bound (each instruction is added at
/// most once per position, and each waiting thread tried once per character). I10's backtracking
/// engine exceeds it on nested quantifiers: `(a+)+$` on `a...a!` takes about 2^n steps.
public final class RegexWorkChecker: SecurityObservationsChecker, Checker {
    public static let name = "regex-work"
    public override var name: String { Self.name }
    public static func whyItCannotFire(in scenario: Scenario) -> String? { modelAttacksMissing(scenario) }

    public override func check(_ simulation: Simulation) -> String? {
        guard let observations else { return nil }
        return judgeNew(observations.regexMatches, from: &checked) { match in
            let bound = 2 * match.instructions * (match.inputLength + 1)
            return match.steps <= bound ? nil
                : "matching '\(match.pattern)' against a name of \(match.inputLength) characters took \(match.steps) steps at \(formatNanoseconds(match.at)), above the linear bound \(bound) (2 x \(match.instructions) instructions x (length + 1)): super-linear regex work"
        }
    }

    public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { ["models", "models-db", "gateway"] }
}
