import SimKernel
import SimServices

/// Elastic ranks: in each generation of the rendezvous every rank is held by one worker and lies
/// in 0 ..< world (A5's blind writes let two joins take one rank).
public final class RingRanksChecker: ElasticChecker, SafetyChecker, Checker {
    public static let name = "ring-ranks"
    public var name: String { Self.name }
    var holders: [String: String] = [:]
    var checked = 0

    public func check(_ simulation: Simulation) -> String? {
        guard let observations = changedObservations() else { return nil }
        while checked < observations.claims.count {
            let claim = observations.claims[checked]
            checked += 1
            guard claim.rank >= 0 && claim.rank < claim.world else {
                return "\(claim.worker) holds rank \(claim.rank) of a generation-\(claim.generation) world of \(claim.world)"
            }
            let key = "\(claim.generation)/\(claim.rank)"
            if let holder = holders[key], holder != claim.worker {
                return "two workers hold rank \(claim.rank) of generation \(claim.generation): \(holder) and \(claim.worker)\(claim.fromJoin ? " (from its join)" : "")"
            }
            holders[key] = claim.worker
        }
        return nil
    }
}
