import SimKernel
import SimServices

/// Artifact downloads stay in the artifacts bucket and in the caller's tenant's folder: every
/// download the storage service answered served an object of `artifacts/<caller's tenant>/`, under
/// the key's safe form (I9 serves `../../checkpoints/...` from the checkpoints bucket, and
/// `../t1/...` from another tenant's folder).
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
            if !download.key.utf8.starts(with: "\(download.tenant)/".utf8) {
                return "storage served artifacts/\(download.key) to \(download.caller) of tenant \(download.tenant), who asked for artifact '\(download.asked)': another tenant's artifact was read"
            }
            if case .object(_, let safe) = ArtifactKeys.resolve(download.asked, under: download.tenant), safe != download.key {
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
