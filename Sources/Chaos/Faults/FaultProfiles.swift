import SimKernel

/// Fault profiles: functions of the seed (and of the nodes they may hit) that draw a run's
/// `FaultOptions`, as TigerBeetle's `options_swarm` does.
public enum FaultProfile: String, CaseIterable, Sendable {
    /// No faults.
    case none
    /// A little of everything a production network does: jitter, rare drops, one crash of a
    /// parameter server or worker with a restart.
    case lite
    /// Swarm testing: every knob randomised per seed, from nothing to a lot.
    case swarm

    /// Draws the options for `seed`. `crashable` are nodes a crash may hit; `all` every node.
    public func options(seed: UInt64, crashable: [String], all: [String], healAtMs: Int64) -> FaultOptions {
        var random = SimRandom(rootSeed: seed, stream: "fault-profile/\(rawValue)")
        var options = FaultOptions()
        options.profile = rawValue
        switch self {
        case .none:
            return options
        case .lite:
            options.healAtMs = healAtMs
            options.network.latency = .uniform(min: 100 * Nanos.microsecond, max: 2 * Nanos.millisecond)
            options.network.dropProbability = Ratio(1, 200)
            options.disk.syncLatency = .uniform(min: 0, max: 5 * Nanos.millisecond)
            guard !crashable.isEmpty else { break }  // nothing may be crashed
            let victim = crashable[random.uniform(0 ..< crashable.count)]
            options.crashes = [CrashFault(node: victim, atMs: random.uniform(1000 ... Swift.max(1000, healAtMs / 2)),
                                          restartAfterMs: random.uniform(500 ... 3000))]
        case .swarm:
            options.healAtMs = healAtMs
            options.network.latency = .boundedPareto(min: 50 * Nanos.microsecond, max: 50 * Nanos.millisecond, alphaPercent: random.uniform(80 ... 200))
            options.network.dropProbability = Ratio(random.uniform(below: 6), 100)
            options.network.duplicateProbability = Ratio(random.uniform(below: 3), 100)
            options.network.reorderProbability = Ratio(random.uniform(below: 11), 100)
            options.disk.tornWriteProbability = random.chance(Ratio(1, 2)) ? Ratio(1, 2) : .zero
            options.disk.syncLatency = .uniform(min: 0, max: random.uniform(0 ... 20) * Nanos.millisecond)
            for node in all where random.chance(Ratio(1, 3)) {
                options.clockSkewMs[node] = random.uniform(-500 ... 500)
            }
            for _ in 0 ..< random.uniform(0 ..< 4) where !crashable.isEmpty {
                let victim = crashable[random.uniform(0 ..< crashable.count)]
                options.crashes.append(CrashFault(node: victim, atMs: random.uniform(200 ... Swift.max(200, healAtMs - 1000)),
                                                  restartAfterMs: random.uniform(100 ... 4000)))
            }
            for _ in 0 ..< random.uniform(0 ..< 4) where all.count >= 2 {
                var shuffled = all
                random.shuffle(&shuffled)
                let cut = random.uniform(1 ..< shuffled.count)
                options.partitions.append(PartitionFault(
                    sideA: Array(shuffled[..<cut]).sorted(), sideB: Array(shuffled[cut...]).sorted(),
                    atMs: random.uniform(200 ... Swift.max(200, healAtMs - 1000)), durationMs: random.uniform(100 ... 3000)))
            }
        }
        return options
    }
}
