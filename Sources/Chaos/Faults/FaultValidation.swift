import SimKernel

/// Checks of resolved fault options read from a seed file: they are input like a scenario file,
/// and a value the simulator cannot honour (an event in the past, a bound the wrong way round, a
/// node the topology does not have, a number whose sums overflow the clock) is refused with the
/// field it sits in, never trapped on mid-run.
extension FaultOptions {
    /// Longest time a fault may start at, last or be skewed by: one day, in ms (the longest horizon).
    public static let longestMs: Int64 = 86_400_000
    /// Longest single network or disk delay a distribution may draw: one hour, in ns.
    public static let longestDelayNs: Int64 = 3_600 * Nanos.second
    /// The profiles a seed file may name.
    public static let profileNames = FaultProfile.allCases.map(\.rawValue) + ["explicit"]

    /// The first problem of these options on a topology of `nodes` (crashable ones in `crashable`),
    /// as (field in snake_case under `faults`, problem), or nil when they can run.
    public func problem(nodes: [String], crashable: [String]) -> (field: String, problem: String)? {
        let known = Set(nodes)
        func time(_ value: Int64, _ field: String) -> (String, String)? {
            (0 ... Self.longestMs).contains(value) ? nil : (field, "\(value) ms is out of range 0...\(Self.longestMs)")
        }
        guard Self.profileNames.contains(profile) else {
            return ("faults.profile", "unknown profile '\(profile)' (\(Self.profileNames.joined(separator: ", ")))")
        }
        let distributions: [(String, DurationDistribution)] = [
            ("faults.network.latency", network.latency), ("faults.network.reorder_delay", network.reorderDelay),
            ("faults.disk.io_latency", disk.ioLatency), ("faults.disk.sync_latency", disk.syncLatency)]
        for (field, distribution) in distributions {
            if let problem = distribution.problem(limit: Self.longestDelayNs) { return (field, problem) }
        }
        if network.reorderProbability.isZero && network.reorderDelay != NetworkOptions().reorderDelay {
            return ("faults.network.reorder_delay", "has no effect while reorder_probability is 0 (leave it at its default)")
        }
        guard (1 ... 1 << 20).contains(disk.sectorSize), disk.sectorSize & (disk.sectorSize - 1) == 0 else {
            return ("faults.disk.sector_size", "\(disk.sectorSize) is not a power of two in 1...\(1 << 20)")
        }
        guard (1 ... 1 << 50).contains(disk.capacityBytes) else {
            return ("faults.disk.capacity_bytes", "\(disk.capacityBytes) is out of range 1...\(1 << 50)")
        }
        if let problem = time(healAtMs, "faults.heal_at_ms") { return problem }
        for (node, skew) in clockSkewMs.sorted(by: { $0.key < $1.key }) {
            guard known.contains(node) else { return ("faults.clock_skew_ms.\(node)", "no node '\(node)' in the scenario's topology") }
            guard (-Self.longestMs ... Self.longestMs).contains(skew) else {
                return ("faults.clock_skew_ms.\(node)", "\(skew) ms is out of range \(-Self.longestMs)...\(Self.longestMs)")
            }
        }
        for (index, crash) in crashes.enumerated() {
            let field = "faults.crashes[\(index)]"
            guard known.contains(crash.node) else { return ("\(field).node", "no node '\(crash.node)' in the scenario's topology") }
            guard crashable.contains(crash.node) else { return ("\(field).node", "node '\(crash.node)' is not crashable in the scenario's topology") }
            if let problem = time(crash.atMs, "\(field).at_ms") ?? time(crash.restartAfterMs, "\(field).restart_after_ms") { return problem }
            if crash.atMs >= healAtMs { return ("\(field).at_ms", "\(crash.atMs) ms is not before heal_at_ms \(healAtMs) (faults happen in the safety phase)") }
        }
        for (index, partition) in partitions.enumerated() {
            let field = "faults.partitions[\(index)]"
            if partition.sideA.isEmpty || partition.sideB.isEmpty { return (field, "both sides need at least one node") }
            if let unknown = (partition.sideA + partition.sideB).first(where: { !known.contains($0) }) {
                return (field, "no node '\(unknown)' in the scenario's topology")
            }
            if let both = partition.sideA.first(where: partition.sideB.contains) { return (field, "node '\(both)' is on both sides") }
            for (side, nodes) in [("side_a", partition.sideA), ("side_b", partition.sideB)] {
                if let twice = nodes.enumerated().first(where: { nodes[..<$0.offset].contains($0.element) }) {
                    return ("\(field).\(side)", "node '\(twice.element)' is listed twice")
                }
            }
            if partition.durationMs < 1 { return ("\(field).duration_ms", "a partition lasts at least 1 ms") }
            if let problem = time(partition.atMs, "\(field).at_ms") ?? time(partition.durationMs, "\(field).duration_ms") { return problem }
            if partition.atMs >= healAtMs {
                return ("\(field).at_ms", "\(partition.atMs) ms is not before heal_at_ms \(healAtMs) (faults happen in the safety phase)")
            }
        }
        if profile == "none" && (!crashes.isEmpty || !partitions.isEmpty) {
            return ("faults.profile", "'none' with crashes or partitions (their profile is explicit, lite or swarm)")
        }
        return nil
    }
}
