import SimKernel
import SimServices

/// No untrusted peer is accepted: every certificate chain the admin service accepted over mutual
/// TLS ends in a certificate signed by the platform root's key (or is the root). G6 checks only
/// that the chain's top names the root, so a look-alike CA of an attacker's own gets through.
public final class PeerTrustChecker: SecurityObservationsChecker, Checker {
    public static let name = "peer-trust"
    public override var name: String { Self.name }
    public static func whyItCannotFire(in scenario: Scenario) -> String? {
        scenario.workloads.contains { $0 is MeshPeersWorkload } ? nil : "no mesh_peers workload runs in this scenario"
    }

    public override func check(_ simulation: Simulation) -> String? {
        guard let observations else { return nil }
        let anchor = PlatformPKI.root.publicKey
        return judgeNew(observations.peersAccepted, from: &checked) { accepted in
            guard let top = accepted.chain.last else { return "admin accepted a peer without a certificate at \(formatNanoseconds(accepted.at))" }
            return top.isSigned(by: anchor) ? nil
                : "admin accepted \(accepted.chain.first?.subject ?? "?") at \(formatNanoseconds(accepted.at)) with a chain of \(accepted.chain.count) whose top (\(top.subject), issued by \(top.issuer)) is not signed by the platform's root key: an untrusted peer"
        }
    }

    public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { ["admin", "users-db"] }
}
