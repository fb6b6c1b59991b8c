import SimKernel
import SimServices

/// Every epoch's data order is a permutation of the training rows, and differs from the previous
/// epoch's (M5 trains every epoch in one order). Two equal orders of n > 20 rows by chance have
/// probability 1/n!, below 1e-18: an equal pair is a defect, never luck.
public final class EpochOrderChecker: TrainingRunsChecker, SafetyChecker, Checker {
    public static let name = "epoch-order"
    public var name: String { Self.name }
    var checked = 0
    public func check(_ simulation: Simulation) -> String? {
        guard let observations else { return nil }
        while checked < observations.orders.count {
            let order = observations.orders[checked]
            checked += 1
            if order.order.count != order.rows || Set(order.order) != Set(0 ..< order.rows) {
                return "\(order.name) (attempt \(order.attempt)) epoch \(order.epoch)'s order is not a permutation of its \(order.rows) training rows (\(order.order.count) entries)"
            }
            if let previous = observations.orders[..<(checked - 1)].last(where: { $0.name == order.name && $0.attempt == order.attempt && $0.epoch == order.epoch - 1 }),
               previous.order == order.order {
                return "\(order.name) (attempt \(order.attempt)) trains epoch \(order.epoch) in the same order as epoch \(order.epoch - 1) (starting \(order.order.prefix(5).map(String.init).joined(separator: ", "))...): the data is not reshuffled"
            }
        }
        return nil
    }

    override public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { ["workers"] }
}
