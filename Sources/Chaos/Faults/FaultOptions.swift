import SimKernel

/// A crash of a node at a virtual time, restarted after a delay.
public struct CrashFault: Codable, Hashable, Sendable {
    public var node: String
    public var atMs: Int64
    public var restartAfterMs: Int64
    public init(node: String, atMs: Int64, restartAfterMs: Int64) {
        self.node = node
        self.atMs = atMs
        self.restartAfterMs = restartAfterMs
    }
}

/// A symmetric partition between two groups of nodes, for a while.
public struct PartitionFault: Codable, Hashable, Sendable {
    public var sideA: [String]
    public var sideB: [String]
    public var atMs: Int64
    public var durationMs: Int64
    public init(sideA: [String], sideB: [String], atMs: Int64, durationMs: Int64) {
        self.sideA = sideA
        self.sideB = sideB
        self.atMs = atMs
        self.durationMs = durationMs
    }
}

/// Every fault of a run, fully resolved (what a profile drew for a seed, or what a scenario
/// listed). Stored in seed files, so a replay injects exactly the same faults. All zero: no faults.
public struct FaultOptions: Codable, Hashable, Sendable {
    /// The profile these options were drawn from (`none`, `lite`, `swarm`, or `explicit`).
    public var profile = "none"
    public var network = NetworkOptions()
    public var disk = DiskOptions()
    /// Clock offset of each named node, in ms (skew).
    public var clockSkewMs: [String: Int64] = [:]
    public var crashes: [CrashFault] = []
    public var partitions: [PartitionFault] = []
    /// When every fault heals (the end of the safety phase), in ms; the liveness phase follows.
    public var healAtMs: Int64 = 0

    public init() {}

    /// A one-line summary for people.
    public var summary: String {
        var parts = ["profile \(profile)"]
        if !network.dropProbability.isZero { parts.append("drop \(network.dropProbability)") }
        if !network.duplicateProbability.isZero { parts.append("dup \(network.duplicateProbability)") }
        if !network.reorderProbability.isZero { parts.append("reorder \(network.reorderProbability)") }
        if !disk.tornWriteProbability.isZero { parts.append("torn writes \(disk.tornWriteProbability)") }
        if !clockSkewMs.isEmpty { parts.append("clock skew on \(clockSkewMs.count) nodes") }
        parts.append("\(crashes.count) crashes, \(partitions.count) partitions, heal at \(healAtMs) ms")
        return parts.joined(separator: ", ")
    }

    /// The resolved network, disk and clock settings, for the header of a run.
    public var settings: [String] {
        var lines = ["network: latency \(network.latency), drop \(network.dropProbability), duplicate \(network.duplicateProbability), reorder \(network.reorderProbability)",
                     "disk: torn writes \(disk.tornWriteProbability), read corruption \(disk.readCorruptionProbability), sync latency \(disk.syncLatency), io latency \(disk.ioLatency)"]
        if !clockSkewMs.isEmpty {
            lines.append("clock skew: " + clockSkewMs.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value) ms" }.joined(separator: ", "))
        }
        return lines
    }

    /// One line per injected crash and partition, for the header of a run.
    public var schedule: [String] {
        crashes.map { "crash \($0.node) at \($0.atMs) ms, restart after \($0.restartAfterMs) ms" }
            + partitions.map { "partition [\($0.sideA.joined(separator: ","))] | [\($0.sideB.joined(separator: ","))] at \($0.atMs) ms for \($0.durationMs) ms" }
    }
}
