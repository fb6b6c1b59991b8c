import SimKernel
import SimServices

/// Partition skew: once 100 events are on the events topic, no partition carries more than 1.5 x
/// the mean load (keyed by user, two partitions split about evenly: with n = 100 events a fair
/// split exceeds 75 on one side with probability about 1e-6).
public final class PartitionSkewChecker: StreamChecker, Checker {
    public static let name = "partition-skew"
    public override var name: String { Self.name }
    public static func whyItCannotFire(in scenario: Scenario) -> String? { featureWorkloadMissing(scenario) }
    public required init(scenario: Scenario) { super.init(topology: scenario.topology) }
    static let partitions = 2

    override func checkNew(_ stream: StreamObservations, _ simulation: Simulation) -> String? {
        let total = stream.partitionLoads.values.reduce(0, +)
        guard total >= 100 else { return nil }
        let mean = Double(total) / Double(Self.partitions)
        if let (partition, load) = stream.partitionLoads.sorted(by: { $0.key < $1.key }).first(where: { Double($0.value) > 1.5 * mean }) {
            return "partition \(partition) of the events topic carries \(load) of \(total) events, \(String(format: "%.2f", Double(load) / mean)) x the mean"
        }
        return nil
    }

    public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { ["pipeline", "kafka"] }
}

#if canImport(Glibc)
import Glibc
#endif
