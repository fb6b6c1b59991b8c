import SimKernel
import SimServices

/// Stream counts, exactly once: after the run, each (window, tenant's user) count in the job's output
/// equals the number of accepted events of that user and window with a numeric value that the job
/// did not judge failed (those are the dead-letter check's), among the events in batches the job
/// committed: none counted twice (a re-read batch, a backfill), none lost (an acknowledged
/// event whose count never reached the database). Sums are checked alike. Liveness: the job has
/// processed every accepted event by heal + converge_within_s.
public final class StreamCountsChecker: StreamChecker, Checker {
    public static let name = "stream-counts"
    public override var name: String { Self.name }
    public static func whyItCannotFire(in scenario: Scenario) -> String? { featureWorkloadMissing(scenario) }
    public required init(scenario: Scenario) { super.init(topology: scenario.topology) }

    public func finalViolation(_ simulation: Simulation) -> String? {
        let stream = simulation.stream
        guard let output = rows(simulation, "SELECT window, tenant || '/' || user, count, total FROM stream_counts ORDER BY window, tenant, user") else { return nil }
        // Events the job judged failed are the dead-letter check's; the rest must be counted once.
        let failed = Set(stream.judgedFailed.map(\.id)).union(stream.deadLetters.keys)
        var expected: [String: (count: Int, total: Double)] = [:]
        // Only events in batches the job committed: the rest are the liveness check's.
        // In id order: the totals are float sums, whose last bits depend on the order of addition.
        for id in stream.accepted.keys.sorted() where !failed.contains(id) && stream.processed.contains(id) {
            guard let event = stream.accepted[id] else { continue }
            guard let value = Double(event.value) else { continue }
            expected["\(event.window)|\(event.user)", default: (0, 0)].count += 1
            expected["\(event.window)|\(event.user)", default: (0, 0)].total += value
        }
        var actual: [String: (count: Int, total: Double)] = [:]
        for row in output {
            guard let window = row[0].integer, let user = row[1].text, let count = row[2].integer, case .real(let total) = row[3] else { continue }
            actual["\(window)|\(user)"] = (Int(count), total)
        }
        for key in Set(expected.keys).union(actual.keys).sorted() {
            let want = expected[key] ?? (0, 0), got = actual[key] ?? (0, 0)
            if want.count != got.count || abs(want.total - got.total) > 1e-6 {
                let parts = key.splitBytes("|", maxSplits: 1)
                let what = got.count > want.count ? "counted twice" : "missing"
                // The user's accepted events of that window, with what became of each.
                let user = String(parts[1]), window = Int64(parts[0]) ?? 0
                let events = stream.accepted.filter { $0.value.user == user && $0.value.window == window }.sorted { $0.key < $1.key }.map { id, event in
                    "\(id)=\(event.value)\(stream.deadLetters[id].map { " dead-lettered (\($0.reason))" } ?? "")\(stream.judgedFailed.contains { $0.id == id } ? " judged failed" : "")"
                }
                return "window \(formatNanoseconds(window)) of \(user): the job counted \(got.count) events (sum \(got.total)), the accepted events not judged failed are \(want.count) (sum \(want.total)): events \(what) [accepted: \(events.joined(separator: ", "))]"
            }
        }
        return nil
    }

    /// Liveness: the job has committed a batch holding every accepted event.
    public func converged(_ simulation: Simulation) -> Bool? {
        let stream = simulation.stream
        if stream.revision != judgedRevision {
            judgedRevision = stream.revision
            caughtUp = stream.accepted.keys.allSatisfy { stream.processed.contains($0) }
        }
        return caughtUp
    }
    var judgedRevision = UInt64.max, caughtUp = false

    public func livenessMessage(_ simulation: Simulation) -> String {
        let stream = simulation.stream
        let behind = stream.accepted.filter { !stream.processed.contains($0.key) }.sorted { $0.key < $1.key }
        let first = behind.first.map { " (first: \($0.key), accepted at \(formatNanoseconds($0.value.at)))" } ?? ""
        return "the streaming job has not processed \(behind.count) of the \(stream.accepted.count) accepted events\(first)"
    }

    public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { ["pipeline", "kafka"] }
}
