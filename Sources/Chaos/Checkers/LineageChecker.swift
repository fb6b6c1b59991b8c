import SimKernel
import SimServices

/// Lineage: after the run, every output row of the streaming job names every step the job ran.
public final class LineageChecker: StreamChecker, Checker {
    public static let name = "lineage"
    public override var name: String { Self.name }
    public static func whyItCannotFire(in scenario: Scenario) -> String? { featureWorkloadMissing(scenario) }
    public required init(scenario: Scenario) { super.init(topology: scenario.topology) }

    public func finalViolation(_ simulation: Simulation) -> String? {
        let ran = simulation.stream.stepsRun
        guard !ran.isEmpty, let output = rows(simulation, "SELECT window, tenant || '/' || user, lineage FROM stream_counts ORDER BY window, tenant, user") else { return nil }
        for row in output {
            let steps = (row[2].text ?? "").splitBytes(">").map(String.init)
            if let missing = ran.first(where: { !steps.contains($0) }) {
                return "the output row of \(row[1].plain) in window \(formatNanoseconds(row[0].integer ?? 0)) has lineage \(row[2].plain), which lacks \(missing), a step the job ran"
            }
        }
        return nil
    }

    public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { ["pipeline"] }
}
