/// The result of running one seed twice.
public struct DeterminismReport: Sendable, CustomStringConvertible {
    public var seed: UInt64
    public var fingerprints: (UInt64, UInt64)
    public var eventCounts: (UInt64, UInt64)
    public var outcomes: (Outcome, Outcome)
    /// Index of the first event (jobs and handler events included) whose fingerprint differs.
    public var firstDivergentEvent: Int?
    /// The first traced record that differs, from each run (nil when that run has none there).
    public var firstDivergentRecord: (TraceRecord?, TraceRecord?)?
    /// Up to five traced records both runs agree on, just before the divergence.
    public var commonContext: [TraceRecord] = []

    public var isDeterministic: Bool { firstDivergentEvent == nil && fingerprints.0 == fingerprints.1 && eventCounts.0 == eventCounts.1 }

    public var description: String {
        if isDeterministic {
            return "deterministic: seed \(seed), \(eventCounts.0) events, fingerprint \(hex64(fingerprints.0)), outcome \(outcomes.0.kind)"
        }
        var lines = ["NONDETERMINISM: seed \(seed): fingerprints \(hex64(fingerprints.0)) vs \(hex64(fingerprints.1)), events \(eventCounts.0) vs \(eventCounts.1)"]
        if let index = firstDivergentEvent { lines.append("first divergent event: #\(index)") }
        if !commonContext.isEmpty {
            lines.append("last events both runs agree on:")
            lines += commonContext.map { "    \($0.line)" }
        }
        if let (a, b) = firstDivergentRecord {
            lines.append("run 1: " + (a?.line ?? "(no further event)"))
            lines.append("run 2: " + (b?.line ?? "(no further event)"))
        }
        return lines.joined(separator: "\n")
    }
}

/// Runs a seed twice in this process and compares every event, as madsim's and FoundationDB's
/// determinism checks do. `build` must set up the whole simulation from the seed alone.
public enum DeterminismCheck {
    public static func run(seed: UInt64, options: SimulationOptions = SimulationOptions(),
                           build: (Simulation) -> Void) -> DeterminismReport {
        func once() -> (Simulation, Outcome) {
            let simulation = Simulation(seed: seed, options: options)
            simulation.trace.digestLog = []
            simulation.trace.recordLog = []
            build(simulation)
            let outcome = simulation.run()
            return (simulation, outcome)
        }
        let (a, outcomeA) = once()
        let (b, outcomeB) = once()
        var report = DeterminismReport(
            seed: seed, fingerprints: (a.trace.fingerprint, b.trace.fingerprint),
            eventCounts: (a.eventCount, b.eventCount), outcomes: (outcomeA, outcomeB))
        let digestsA = a.trace.digestLog ?? [], digestsB = b.trace.digestLog ?? []
        let common = Swift.min(digestsA.count, digestsB.count)
        if let index = (0 ..< common).first(where: { digestsA[$0] != digestsB[$0] }) {
            report.firstDivergentEvent = index
        } else if digestsA.count != digestsB.count {
            report.firstDivergentEvent = common
        }
        let recordsA = a.trace.recordLog ?? [], recordsB = b.trace.recordLog ?? []
        let sameRecord = { (x: TraceRecord, y: TraceRecord) in
            x.time == y.time && x.kind == y.kind && x.node == y.node && x.actor == y.actor && x.payload == y.payload && x.detail == y.detail
        }
        let commonRecords = Swift.min(recordsA.count, recordsB.count)
        let divergentRecord = (0 ..< commonRecords).first { !sameRecord(recordsA[$0], recordsB[$0]) }
            ?? (recordsA.count != recordsB.count ? commonRecords : nil)
        if let index = divergentRecord, report.firstDivergentEvent != nil {
            report.firstDivergentRecord = (index < recordsA.count ? recordsA[index] : nil, index < recordsB.count ? recordsB[index] : nil)
            report.commonContext = Array(recordsA[Swift.max(0, index - 5) ..< index])
        }
        return report
    }
}
