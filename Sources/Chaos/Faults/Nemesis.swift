import SimKernel

/// Applies resolved fault options to a simulation: network, disk and clock settings now, crashes,
/// restarts and partitions as events (each partition's end heals that partition only), and the
/// heal of everything at `healAtMs`.
public enum Nemesis {
    public static func apply(_ options: FaultOptions, to simulation: Simulation) {
        simulation.network.options = options.network
        for (name, skew) in options.clockSkewMs.sorted(by: { $0.key < $1.key }) {
            simulation.node(named: name)?.clock.offset += skew * Nanos.millisecond
        }
        func node(_ name: String) -> Node? { simulation.node(named: name) }
        for crash in options.crashes {
            guard let target = node(crash.node) else { continue }
            simulation.schedule(at: crash.atMs * Nanos.millisecond) { target.crash() }
            simulation.schedule(at: (crash.atMs + crash.restartAfterMs) * Nanos.millisecond) { target.restart() }
        }
        for partition in options.partitions {
            let a = partition.sideA.compactMap { node($0)?.id }, b = partition.sideB.compactMap { node($0)?.id }
            simulation.schedule(at: partition.atMs * Nanos.millisecond) { simulation.network.partition(a, b) }
            simulation.schedule(at: (partition.atMs + partition.durationMs) * Nanos.millisecond) { simulation.network.heal(a, b) }
        }
        if options.profile != "none" {
            simulation.schedule(at: options.healAtMs * Nanos.millisecond) { heal(simulation) }
        }
    }

    /// Ends the safety phase: a fault-free network, no partitions, disks without torn writes,
    /// corruption or extra latency, every crashed node restarted.
    public static func heal(_ simulation: Simulation) {
        var network = simulation.network.options
        network.dropProbability = .zero
        network.duplicateProbability = .zero
        network.reorderProbability = .zero
        simulation.network.options = network
        simulation.network.healPartitions()
        for node in simulation.nodes {
            node.disk.options.tornWriteProbability = .zero
            node.disk.options.readCorruptionProbability = .zero
            node.disk.options.ioLatency = .constant(0)
            node.disk.options.syncLatency = .constant(0)
        }
        for node in simulation.nodes where node.state != .up {
            if node.state == .crashed { node.restart() } else { node.resume() }
        }
        simulation.record(TraceKind("nemesis.heal"), actor: "nemesis", "all faults healed; liveness phase")
    }
}
