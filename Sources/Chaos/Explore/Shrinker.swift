import SimKernel
import SimServices

/// Delta debugging (Zeller's ddmin) over what a seed file's run decided: the faults it injected
/// and the workload's length. The result fails with the same outcome kind and checker, with as few
/// faults and as short a workload as the search finds, and never in more events than the
/// original run.
public enum Shrinker {
    /// One removable decision of a run.
    public enum Atom: Hashable, Sendable, CustomStringConvertible {
        case crash(Int)
        case partition(Int)
        case clockSkew(String)
        case drops, duplicates, reordering, tornWrites, readCorruption, latencyTail, diskLatency

        public var description: String {
            switch self {
            case .crash(let i): return "crash #\(i)"
            case .partition(let i): return "partition #\(i)"
            case .clockSkew(let node): return "clock skew of \(node)"
            case .drops: return "message drops"
            case .duplicates: return "duplicates"
            case .reordering: return "reordering"
            case .tornWrites: return "torn writes"
            case .readCorruption: return "read corruption"
            case .latencyTail: return "latency distribution"
            case .diskLatency: return "disk latency"
            }
        }
    }

    /// The atoms present in `faults`.
    public static func atoms(of faults: FaultOptions) -> [Atom] {
        var atoms: [Atom] = faults.crashes.indices.map { .crash($0) } + faults.partitions.indices.map { .partition($0) }
        atoms += faults.clockSkewMs.keys.sorted().map { .clockSkew($0) }
        let plain = NetworkOptions(), plainDisk = DiskOptions()
        if !faults.network.dropProbability.isZero { atoms.append(.drops) }
        if !faults.network.duplicateProbability.isZero { atoms.append(.duplicates) }
        if !faults.network.reorderProbability.isZero { atoms.append(.reordering) }
        if faults.network.latency != plain.latency { atoms.append(.latencyTail) }
        if !faults.disk.tornWriteProbability.isZero { atoms.append(.tornWrites) }
        if !faults.disk.readCorruptionProbability.isZero { atoms.append(.readCorruption) }
        if faults.disk.syncLatency != plainDisk.syncLatency || faults.disk.ioLatency != plainDisk.ioLatency { atoms.append(.diskLatency) }
        return atoms
    }

    /// `original` keeping only the faults named by `kept`.
    public static func faults(_ original: FaultOptions, keeping kept: [Atom]) -> FaultOptions {
        var faults = FaultOptions()
        faults.profile = original.profile
        faults.healAtMs = original.healAtMs
        let keep = Set(kept)
        faults.crashes = original.crashes.indices.filter { keep.contains(.crash($0)) }.map { original.crashes[$0] }
        faults.partitions = original.partitions.indices.filter { keep.contains(.partition($0)) }.map { original.partitions[$0] }
        for (node, skew) in original.clockSkewMs where keep.contains(.clockSkew(node)) { faults.clockSkewMs[node] = skew }
        if keep.contains(.drops) { faults.network.dropProbability = original.network.dropProbability }
        if keep.contains(.duplicates) { faults.network.duplicateProbability = original.network.duplicateProbability }
        if keep.contains(.reordering) {
            faults.network.reorderProbability = original.network.reorderProbability
            faults.network.reorderDelay = original.network.reorderDelay
        }
        if keep.contains(.latencyTail) { faults.network.latency = original.network.latency }
        if keep.contains(.tornWrites) { faults.disk.tornWriteProbability = original.disk.tornWriteProbability }
        if keep.contains(.readCorruption) { faults.disk.readCorruptionProbability = original.disk.readCorruptionProbability }
        if keep.contains(.diskLatency) {
            faults.disk.syncLatency = original.disk.syncLatency
            faults.disk.ioLatency = original.disk.ioLatency
        }
        return faults
    }

    /// Zeller's ddmin: a 1-minimal subset of `items` for which `fails` holds (it holds for `items`).
    public static func ddmin<T>(_ items: [T], fails: ([T]) -> Bool) -> [T] {
        if items.isEmpty || fails([]) { return [] }
        var current = items
        var granularity = 2
        while current.count >= 2 {
            let size = (current.count + granularity - 1) / granularity
            let chunks = stride(from: 0, to: current.count, by: size).map { Array(current[$0 ..< Swift.min(current.count, $0 + size)]) }
            var reduced = false
            for chunk in chunks where fails(chunk) {
                current = chunk
                granularity = 2
                reduced = true
                break
            }
            if !reduced {
                for index in chunks.indices {
                    let complement = chunks.indices.filter { $0 != index }.flatMap { chunks[$0] }
                    if fails(complement) {
                        current = complement
                        granularity = Swift.max(granularity - 1, 2)
                        reduced = true
                        break
                    }
                }
            }
            if !reduced {
                if granularity >= current.count { break }
                granularity = Swift.min(current.count, granularity * 2)
            }
        }
        return current
    }

    /// What shrinking did.
    public struct Report: Sendable {
        public var original: SeedFile
        public var shrunk: SeedFile
        public var atomsBefore: [Atom]
        public var atomsAfter: [Atom]
        public var stepsBefore: Int
        public var stepsAfter: Int
        /// Events of the original run and of the shrunk one, each stopped at its first finding.
        public var eventsBefore: UInt64
        public var runs: Int
    }

    /// Shrinks `file`, whose scenario is `scenario`.
    public static func shrink(_ file: SeedFile, scenario: Scenario) -> Report {
        // Shrinking stops every run at its first finding: the first finding of a run is the same
        // whether it would go on or not, and stopping there is faster.
        var base = file.configuration(scenario: scenario)
        base.keepGoing = false
        var runs = 0
        func failsSame(_ configuration: RunConfiguration) -> (Bool, RunResult) {
            runs += 1
            let result = ScenarioRunner.run(configuration)
            return (result.outcome.kind == file.outcome.kind && result.outcome.checker == file.outcome.checker, result)
        }
        // A candidate is kept only if it fails the same way in no more events than the smallest
        // run kept so far: fewer faults must not buy a longer run (without a fault the failure
        // often takes longer to come, and a shrunk seed is for a person to read).
        // The baseline is the original run stopped at its first finding, as every candidate is.
        let eventsBefore = failsSame(base).1.events
        var fewestEvents = eventsBefore
        func smaller(_ configuration: RunConfiguration) -> Bool {
            let (same, result) = failsSame(configuration)
            guard same, result.events <= fewestEvents else { return false }
            fewestEvents = result.events
            return true
        }
        let atoms = atoms(of: file.faults)
        let kept = ddmin(atoms) { subset in
            var configuration = base
            configuration.faults = faults(file.faults, keeping: subset)
            return smaller(configuration)
        }
        var best = base
        best.faults = faults(file.faults, keeping: kept)
        // Then the workload: the fewest iterations per worker that still fail the same way (only
        // a scenario with a training workload has iterations to shorten).
        let hasWorkload = scenario.trainingJob != nil
        let stepsBefore = hasWorkload ? base.effectiveScenario.platform.job.steps : 0
        var low = 1, high = stepsBefore
        while hasWorkload && low < high {
            let middle = (low + high) / 2
            var candidate = best
            candidate.workloadSteps = middle
            if smaller(candidate) { high = middle } else { low = middle + 1 }
        }
        if hasWorkload && high < stepsBefore { best.workloadSteps = high }
        let (_, result) = failsSame(best)
        return Report(original: file, shrunk: SeedFile(configuration: best, result: result), atomsBefore: atoms, atomsAfter: kept,
                      stepsBefore: stepsBefore, stepsAfter: hasWorkload ? best.effectiveScenario.platform.job.steps : 0, eventsBefore: eventsBefore, runs: runs)
    }
}
