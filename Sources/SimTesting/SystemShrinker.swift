import SimKernel

/// What `shrink` did: the seed file it started from, the smaller one it found, how many runs it
/// took, and each knob it lowered.
public struct Shrinking: Sendable {
    public var original: SystemSeedFile
    public var shrunk: SystemSeedFile
    public var runs: Int
    public var steps: [String]
}

extension SimulationSystem {
    /// Lowers the knobs of a failing seed file while the run still fails the same way (same
    /// outcome kind and checker) in no more events: each knob in turn, by bisection between its
    /// minimum and its value, rounds until none moves. The seed stays (it is what makes the run);
    /// only the knobs the system declares are touched, and the result never has more events than
    /// the original.
    public func shrink(_ file: SystemSeedFile, maxRuns: Int = 500) throws(SystemFileError) -> Shrinking {
        guard file.outcome != "passed" else { throw SystemFileError(path: file.path ?? "seed file", field: "outcome", message: "the run passed: nothing to shrink") }
        var current = try knobs(of: file)
        var best = run(seed: file.seed, knobs: current)
        var runs = 1
        guard best.outcome.kind == file.outcome, best.outcome.checker == file.checker else {
            throw SystemFileError(path: file.path ?? "seed file", field: "outcome", message: "the seed no longer fails as recorded (\(best.outcome.kind) [\(best.outcome.checker ?? "-")]): replay it first")
        }
        var steps: [String] = []
        /// Whether `candidate` fails the same way in no more events; the better run when it does.
        func stillFails(_ candidate: Knobs) -> SystemRun? {
            runs += 1
            let attempt = run(seed: file.seed, knobs: candidate)
            guard attempt.outcome.kind == file.outcome, attempt.outcome.checker == file.checker, attempt.events <= best.events else { return nil }
            return attempt
        }
        var moved = true
        while moved && runs < maxRuns {
            moved = false
            for knob in knobs where current[knob.name] > knob.minimum && runs < maxRuns {
                // The smallest value in [minimum, value) that still fails; the minimum first.
                var low = knob.minimum, high = current[knob.name]
                var found: (value: Int, run: SystemRun)?
                var candidate = current
                candidate[knob.name] = low
                if let attempt = stillFails(candidate) {
                    found = (low, attempt)
                } else {
                    low += 1
                    while low < high && runs < maxRuns {
                        let middle = low + (high - low) / 2
                        candidate[knob.name] = middle
                        if let attempt = stillFails(candidate) { found = (middle, attempt); high = middle } else { low = middle + 1 }
                    }
                }
                if let found {
                    steps.append("\(knob.name) \(current[knob.name]) -> \(found.value) (events \(best.events) -> \(found.run.events))")
                    current[knob.name] = found.value
                    best = found.run
                    moved = true
                }
            }
        }
        var shrunk = seedFile(for: best)
        shrunk.path = nil
        return Shrinking(original: file, shrunk: shrunk, runs: runs, steps: steps)
    }
}
