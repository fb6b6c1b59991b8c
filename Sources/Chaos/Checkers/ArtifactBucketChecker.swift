import SimKernel
import SimServices

/// Artifact downloads stay in the artifacts bucket: every download the storage service answered
/// served an object of `artifacts`, under the key's safe form (I9 serves `../checkpoints/...`
/// from the checkpoints bucket).
public final class ArtifactBucketChecker: SecurityObservationsChecker, Checker {
    public static let name = "artifact-bucket"
    public override var name: String { Self.name }
    public static func whyItCannotFire(in scenario: Scenario) -> String? { securityProbeMissing(scenario) }

    public override func check(_ simulation: Simulation) -> String? {
        guard let observations else { return nil }
        while checked < observations.downloads.count {
            let download = observations.downloads[checked]
            checked += 1
            if download.bucket != ArtifactKeys.bucket {
                return "storage served \(download.bucket)/\(download.key) to \(download.caller), who asked for artifact '\(download.asked)': a key outside the artifacts bucket was read"
            }
            if case .object(_, let safe) = ArtifactKeys.resolve(download.asked), safe != download.key {
                return "storage served artifacts/\(download.key) for '\(download.asked)', whose safe form is \(safe)"
            }
        }
        return nil
    }

    public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { ["storage", "minio"] }
}

func securityProbeMissing(_ scenario: Scenario) -> String? {
    scenario.workloads.contains { $0 is SecurityProbeWorkload } ? nil : "no security_probe workload runs in this scenario"
}
