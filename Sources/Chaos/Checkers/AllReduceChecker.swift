import SimKernel
import SimServices

/// Every reduced gradient a worker applies is the mean of the contributions of all ranks of its
/// generation at that step. The ring sums chunks in another order than a plain sum, so values may
/// differ by rounding: the bound is 1e-5 + 1e-4 x the largest contribution's magnitude (a sum of
/// at most 64 floats drifts by well under 64 ulps); a wrong divisor or a lost rank is off by a
/// whole contribution.
public final class AllReduceChecker: ElasticChecker, SafetyChecker, Checker {
    public static let name = "all-reduce"
    public var name: String { Self.name }
    var contributions: [String: [Int: [Float]]] = [:]
    var pending: [Int] = []
    var scanned = 0

    public func check(_ simulation: Simulation) -> String? {
        guard let observations = changedObservations() else { return nil }
        while scanned < observations.reductions.count {
            let reduction = observations.reductions[scanned]
            contributions["\(reduction.generation)/\(reduction.step)", default: [:]][reduction.rank] = reduction.contribution
            pending.append(scanned)
            scanned += 1
        }
        var still: [Int] = []
        for index in pending {
            let reduction = observations.reductions[index]
            guard let reduced = reduction.reduced else { still.append(index); continue }
            let all = contributions["\(reduction.generation)/\(reduction.step)"] ?? [:]
            guard all.count == reduction.world else {
                return "\(reduction.worker) applied a reduced gradient at step \(reduction.step) of generation \(reduction.generation) with \(all.count) of \(reduction.world) ranks' contributions recorded"
            }
            let scale = all.values.flatMap { $0 }.map { abs(Double($0)) }.max() ?? 0
            for j in reduced.indices {
                let mean = (0 ..< reduction.world).reduce(0.0) { $0 + Double(all[$1]?[j] ?? 0) } / Double(reduction.world)
                if abs(Double(reduced[j]) - mean) > 1e-5 + 1e-4 * scale {
                    return "\(reduction.worker) (rank \(reduction.rank) of \(reduction.world), generation \(reduction.generation)) applied \(reduced[j]) for coordinate \(j) at step \(reduction.step); the mean of the \(reduction.world) live ranks' contributions is \(mean)"
                }
            }
        }
        pending = still
        return nil
    }
}
