import XCTest
@testable import SimKernel
@testable import SimServices

/// The search's regular expressions: one syntax, two matchers that agree on every answer, the Pike
/// VM's work linear in the input and the backtracker's exponential on nested quantifiers; the
/// route searches within the caller's tenant and charges the work; I10 backtracks.
final class ModelSearchTests: XCTestCase {
    /// Patterns and inputs with the answers Python's `re.search` gives (checked by hand with
    /// `python3 -c "import re; print(bool(re.search(p, s)))"`); both matchers give each answer.
    func testBothMatchersAgreeWithPythonsReSearch() throws {
        let cases: [(String, String, Bool)] = [
            ("^fraud", "fraud-scorer", true), ("^fraud", "anti-fraud", false), ("scor(er|ing)$", "churn-scorer", true),
            ("scor(er|ing)$", "scorers", false), ("[a-z]+-scorer", "fraud-scorer", true), ("[a-z]+-scorer", "-scorer", false),
            ("(a+)+$", "aaaa", true), ("(a+)+$", "aaaa!", false), ("(a|aa)+$", "aaa!", false), ("(a*)*b", "aaab", true),
            ("(a*)*b", "aaa", false), ("colou?r", "color", true), ("\\d\\d-\\w+", "v2-12-model", true), ("[^a-z]", "abc", false),
            ("a.c", "abc", true), ("a\\.c", "abc", false), ("", "anything", true), ("x|", "y", true), ("^$", "", true),
        ]
        for (pattern, input, expected) in cases {
            let program = try RegexProgram(pattern)
            XCTAssertEqual(PikeVM.search(program, in: input).matched, expected, "Pike VM: /\(pattern)/ on '\(input)'")
            XCTAssertEqual(Backtracker.search(program, in: input).matched, expected, "backtracker: /\(pattern)/ on '\(input)'")
        }
    }

    /// Malformed patterns are refused with the reason; overlong ones too.
    func testMalformedPatternsAreRefused() {
        for (pattern, reason) in [("(ab", "unterminated group"), ("[ab", "unterminated class"), ("*a", "nothing to repeat at 0"), ("a)", "unexpected ')' at 1"),
                                  ("ab\\", "unterminated escape"), ("^*", "nothing to repeat at 1"), ("[z-a]", "unexpected 'a' at 3"),
                                  ("a{2}", "unsupported '{' at 1"), ("\\D", "unsupported '\\D' at 0"), ("x\\b", "unsupported '\\b' at 1"), ("(a)\\1", "unsupported '\\1' at 3")] {
            XCTAssertThrowsError(try RegexProgram(pattern), pattern) { XCTAssertEqual("\($0)", reason, pattern) }
        }
        XCTAssertThrowsError(try RegexProgram(String(repeating: "a", count: 257)))
    }

    /// The Pike VM's steps stay within 2 x instructions x (n + 1) for every n; the backtracker's on
    /// `(a+)+$` against a^n! roughly double with each added character (exponential).
    func testThePikeVMIsLinearAndTheBacktrackerExponential() throws {
        let program = try RegexProgram("(a+)+$")
        var previous = 0
        for n in [8, 10, 12, 14, 16] {
            let input = String(repeating: "a", count: n) + "!"
            let pike = PikeVM.search(program, in: input).steps, backtracking = Backtracker.search(program, in: input).steps
            XCTAssertLessThanOrEqual(pike, 2 * program.instructions.count * (input.count + 1), "n = \(n)")
            XCTAssertGreaterThan(backtracking, 2 * program.instructions.count * (input.count + 1), "n = \(n)")
            if previous > 0 { XCTAssertGreaterThan(backtracking, 3 * previous, "two more characters at least triple the work (n = \(n))") }
            previous = backtracking
        }
        // An empty loop cannot recurse forever, and the match limit stops the work.
        XCTAssertFalse(Backtracker.search(try RegexProgram("(a*)*b"), in: "aaaa!").matched)
        XCTAssertEqual(Backtracker.search(program, in: String(repeating: "a", count: 40) + "!", limit: 1000).steps, 1000)
    }

    static let engineer = ModelTenancyTests.engineer
    static func search(_ pattern: String, _ headers: [String: String] = engineer) -> HTTPRequest { HTTPRequest("GET", "models/search", body: ["pattern": pattern], headers: headers) }

    /// The route: names of the caller's tenant only, in name order; a bad pattern is 400; an
    /// anonymous caller 401; every match recorded with its steps.
    func testTheSearchFindsNamesWithinTheCallersTenant() {
        let outcome = ServiceHarness.run("models", [ModelTenancyTests.create("fraud-scorer", Self.engineer), ModelTenancyTests.create("churn-scorer", Self.engineer),
                                                    ModelTenancyTests.create("bob-scorer", ModelTenancyTests.bob), Self.search("-scorer$"), Self.search("(x"), Self.search("x", [:])])
        XCTAssertEqual(outcome.responses[3]?.body["names"], "churn-scorer,fraud-scorer")
        XCTAssertEqual(outcome.responses[4]?.status, 400)
        XCTAssertEqual(outcome.responses[4]?.body["error"], "pattern: unterminated group")
        XCTAssertEqual(outcome.responses[5]?.status, 401)
        XCTAssertEqual(outcome.simulation.security.regexMatches.map(\.inputLength), [12, 12])
    }

    /// I10: the same search of an evil pattern costs the backtracker far more steps than the
    /// Pike VM (and the service that much CPU time).
    func testI10BacktracksExponentially() throws {
        let name = String(repeating: "a", count: 16) + "-"
        let requests = [ModelTenancyTests.create(name, Self.engineer), Self.search("(a+)+$")]
        let linear = ServiceHarness.run("models", requests), backtracking = ServiceHarness.run("models", defects: DefectSet([.I10]), requests)
        let pike = try XCTUnwrap(Int(linear.responses[1]?.body["steps"] ?? "")), evil = try XCTUnwrap(Int(backtracking.responses[1]?.body["steps"] ?? ""))
        XCTAssertEqual(linear.responses[1]?.body["names"], "")
        XCTAssertEqual(backtracking.responses[1]?.body["names"], "")
        XCTAssertLessThanOrEqual(pike, 2 * 5 * 18)
        XCTAssertGreaterThan(evil, 100 * pike)
    }
}
