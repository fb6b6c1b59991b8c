import SimKernel
import SimServices

/// An artifact is readable whole or not at all: a committed one reads back with the size and
/// SHA-256 the client declared, and one whose upload was abandoned half-way is not found (404).
/// E5 stores each part straight into the artifact, so the abandoned upload reads back partial.
public final class ArtifactIntegrityChecker: TrainingRunsChecker, SafetyChecker, Checker {
    public static let name = "artifact-integrity"
    public var name: String { Self.name }
    var checked = 0

    public func check(_ simulation: Simulation) -> String? {
        guard let observations else { return nil }
        while checked < observations.artifactReads.count {
            let read = observations.artifactReads[checked]
            checked += 1
            switch (read.committed, read.status) {
            case (true, 200) where read.size == read.declaredSize && read.sha256 == read.declaredSHA256, (false, 404):
                continue
            case (_, 200):
                return "artifact \(read.name) (\(read.committed ? "committed" : "upload abandoned after 2 of 4 parts")) reads back \(read.size ?? 0) bytes, SHA-256 \(read.sha256?.prefix(12) ?? "?")...; declared \(read.declaredSize) bytes, \(read.declaredSHA256.prefix(12))...: an incomplete artifact is served"
            default:
                return "artifact \(read.name) (\(read.committed ? "committed" : "upload abandoned")) was answered \(read.status)"
            }
        }
        return nil
    }
}
