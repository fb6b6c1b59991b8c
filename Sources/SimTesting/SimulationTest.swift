import Foundation
import SimKernel
#if canImport(XCTest)
import XCTest
#endif
#if canImport(Testing)
import Testing
#endif

/// What one seed of a simulation test gave: how the run ended and its fingerprint.
public struct SeedRun: Sendable, Equatable {
    public var outcome: Outcome
    public var fingerprint: UInt64
    public init(outcome: Outcome, fingerprint: UInt64) {
        self.outcome = outcome
        self.fingerprint = fingerprint
    }
}

/// Seeds for a test of a user's own simulation, as madsim's `#[madsim::test]` gives them: a
/// range by default, the one seed in `SIM_TEST_SEED` to reproduce a failure, or the range in
/// `SIM_TEST_SEEDS` (`a..b`) to explore more. On a failure it says the seed, the command that
/// reproduces it, and writes a seed file.
public enum SimulationTest {
    /// A failing seed: what happened, how to run it again, and where its seed file is.
    public struct Failure: Sendable, CustomStringConvertible {
        public var test: String
        public var seed: UInt64
        public var run: SeedRun
        public var seedFile: String?
        /// The command that runs this seed alone again.
        public var reproduce: String { "SIM_TEST_SEED=\(seed) swift test --filter '\(test)'" }
        public var description: String {
            "SEED=\(seed): \(run.outcome) (fingerprint 0x\(String(run.fingerprint, radix: 16)))\n  reproduce: \(reproduce)"
                + (seedFile.map { "\n  seed file: \($0)" } ?? "")
        }
    }

    /// The seeds to run: `SIM_TEST_SEED` alone when set, else the range `SIM_TEST_SEEDS`
    /// (`a..b` or `a...b`) when set, else `seeds`. A malformed variable is a precondition failure
    /// naming it: a test must not silently run other seeds than asked.
    public static func seeds(_ seeds: ClosedRange<UInt64>, environment: [String: String] = ProcessInfo.processInfo.environment) -> [UInt64] {
        if let text = environment["SIM_TEST_SEED"] {
            guard let seed = UInt64(text) else { preconditionFailure("SIM_TEST_SEED: '\(text)' is not a seed (an unsigned integer)") }
            return [seed]
        }
        if let text = environment["SIM_TEST_SEEDS"] {
            let parts = text.replacingOccurrences(of: "...", with: "..").components(separatedBy: "..")
            guard parts.count == 2, let low = UInt64(parts[0]), let high = UInt64(parts[1]), low <= high else {
                preconditionFailure("SIM_TEST_SEEDS: '\(text)' is not a range of seeds like 1..100")
            }
            return Array(low ... high)
        }
        return Array(seeds)
    }

    /// Runs `body` for each seed in order and returns the first that does not pass (nil when all
    /// pass), after printing it and writing its seed file into `seedsFolder` (`<test>-<seed>.seed`,
    /// JSON: test, seed, outcome, fingerprint, reproduce).
    public static func firstFailure(_ test: String, seeds: ClosedRange<UInt64>, environment: [String: String] = ProcessInfo.processInfo.environment,
                                    seedsFolder: String = ".simtest-seeds", _ body: (UInt64) -> SeedRun) -> Failure? {
        for seed in self.seeds(seeds, environment: environment) {
            let run = body(seed)
            guard run.outcome != .passed else { continue }
            var failure = Failure(test: test, seed: seed, run: run, seedFile: nil)
            failure.seedFile = write(failure, into: seedsFolder)
            print(failure)
            return failure
        }
        return nil
    }

    /// Writes the seed file of `failure`; nil when it cannot (the failure is still reported).
    static func write(_ failure: Failure, into folder: String) -> String? {
        let name = failure.test.map { $0.isLetter || $0.isNumber ? $0 : "-" }
        let path = (folder as NSString).appendingPathComponent("\(String(name))-\(failure.seed).seed")
        let object: [String: Any] = ["test": failure.test, "seed": failure.seed, "outcome": failure.run.outcome.kind, "checker": failure.run.outcome.checker ?? "",
                                     "fingerprint": "0x" + String(failure.run.fingerprint, radix: 16), "reproduce": failure.reproduce]
        guard (try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)) != nil,
              let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted]),
              FileManager.default.createFile(atPath: path, contents: data) else { return nil }
        return path
    }
}

#if canImport(XCTest)
/// XCTest: runs `body` over `seeds` (or the environment's, see `SimulationTest.seeds`) and fails
/// the test at the first seed that does not pass, with the seed, the command that reproduces it
/// and the seed file.
public func XCTAssertSimulationPasses(seeds: ClosedRange<UInt64>, _ test: String = #function, file: StaticString = #filePath, line: UInt = #line,
                                      _ body: (UInt64) -> SeedRun) {
    if let failure = SimulationTest.firstFailure(test.replacingOccurrences(of: "()", with: ""), seeds: seeds, body) {
        XCTFail(failure.description, file: file, line: line)
    }
}
#endif

#if canImport(Testing)
/// Swift Testing: the same, recording an issue at the caller.
public func expectSimulationPasses(seeds: ClosedRange<UInt64>, _ test: String = #function, sourceLocation: SourceLocation = #_sourceLocation,
                                   _ body: (UInt64) -> SeedRun) {
    if let failure = SimulationTest.firstFailure(test.replacingOccurrences(of: "()", with: ""), seeds: seeds, body) {
        Issue.record(Comment(rawValue: failure.description), sourceLocation: sourceLocation)
    }
}
#endif
