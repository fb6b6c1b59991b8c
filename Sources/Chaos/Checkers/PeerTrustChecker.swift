import SimKernel
import SimServices

/// No untrusted peer is accepted: every certificate chain the admin service accepted over mutual
/// TLS ends in a certificate signed by the platform root's key (or is the root), its leaf is an
/// operator's, the request carried a proof signed by the leaf's key, and no proof was accepted
/// twice. G6 checks only that the chain's top names the root, so a look-alike CA of an
/// attacker's own gets through.
public final class PeerTrustChecker: SecurityObservationsChecker, Checker {
    public static let name = "peer-trust"
    public override var name: String { Self.name }
    public static func whyItCannotFire(in scenario: Scenario) -> String? {
        scenario.workloads.contains { $0 is MeshPeersWorkload } ? nil : "no mesh_peers workload runs in this scenario"
    }

    /// The (subject, nonce) pairs of the proofs accepted so far.
    var nonces: Set<String> = []

    public override func check(_ simulation: Simulation) -> String? {
        guard let observations else { return nil }
        let anchor = PlatformPKI.root.publicKey
        return judgeNew(observations.peersAccepted, from: &checked) { accepted in
            guard let top = accepted.chain.last, let leaf = accepted.chain.first else { return "admin accepted a peer without a certificate at \(formatNanoseconds(accepted.at))" }
            let when = formatNanoseconds(accepted.at)
            guard top.isSigned(by: anchor) else {
                return "admin accepted \(leaf.subject) at \(when) with a chain of \(accepted.chain.count) whose top (\(top.subject), issued by \(top.issuer)) is not signed by the platform's root key: an untrusted peer"
            }
            guard PlatformPKI.operators.contains(leaf.subject) else { return "admin accepted \(leaf.subject) at \(when), not an operator, on an operator's route" }
            // Possession: the leaf's key signed this very request (re-verified here with the key
            // in the certificate), and no proof is honoured twice.
            guard let nonce = PlatformPKI.signedNonce(accepted.proof, leaf: leaf, method: accepted.method, path: accepted.path, body: accepted.body) else {
                return "admin accepted \(leaf.subject)'s certificate at \(when) without a proof signed by its key: a copied certificate passes for its owner"
            }
            guard nonces.insert("\(leaf.subject)\n\(nonce)").inserted else { return "admin accepted proof \(nonce) of \(leaf.subject) a second time at \(when): a replay" }
            return nil
        }
    }

    public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { ["admin", "users-db"] }
}
