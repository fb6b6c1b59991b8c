import SimKernel
import SimServices

/// Artifact reads: a replica reads a version's artifact from the object store at most once at a
/// time (one load per version, whoever waits for it). A stampede (H4: every request that misses
/// after a deploy reads the artifact itself) shows as several reads of one version at once.
public final class ArtifactReadsChecker: ServingSafetyChecker, Checker {
    public static let name = "artifact-reads"
    public override var name: String { Self.name }
    public static func whyItCannotFire(in scenario: Scenario) -> String? {
        scenario.topology.has(role: "inference") && scenario.has(workload: ModelDeploymentsWorkload.name)
            ? nil : "no model versions are deployed to inference replicas in this scenario"
    }
    public init(scenario: Scenario) {}
    public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { ["minio"] + nodesMentioned(in: outcome.message, simulation) }

    public override func check(_ simulation: Simulation) -> String? {
        guard let serving, let first = serving.concurrentArtifactReads.first else { return nil }
        let inFlight = serving.artifactReadsInFlight.filter { $0.value > 1 }.map(\.value).max() ?? first.reads
        return "\(first.replica) read the artifact of \(first.key) \(Swift.max(inFlight, first.reads)) times at once at \(formatNanoseconds(first.time)) "
            + "(a stampede: one load per version suffices; \(serving.concurrentArtifactReads.count) such overlapping reads so far)"
    }
}
