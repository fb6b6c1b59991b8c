import SimKernel
import SimServices

/// Elastic ranks: in each generation of the rendezvous every rank is held by one worker (A5's
/// blind writes let two joins take one rank). A rank is a place in the generation's member list,
/// so it always lies in 0 ..< world: uniqueness is what can break.
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
            let key = "\(claim.generation)/\(claim.rank)"
            if let holder = holders[key], holder != claim.worker {
                return "two workers hold rank \(claim.rank) of generation \(claim.generation): \(holder) and \(claim.worker)\(claim.fromJoin ? " (from its join)" : "")"
            }
            holders[key] = claim.worker
        }
        return nil
    }
}
