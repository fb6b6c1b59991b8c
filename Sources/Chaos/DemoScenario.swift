import SimKernel
import SimServices

/// The built-in demonstration that `simrun scenario` runs until the scenario files land (see
/// the README): the sharded training demo with an applied-updates checker.
public enum DemoScenario {
    public struct Result: Sendable {
        public var outcome: Outcome
        public var fingerprint: UInt64
        public var events: UInt64
        public var virtualNanoseconds: Int64
        public var recent: [TraceRecord]
    }

    /// Runs the demonstration for `seed`; `defects` may contain "A2" (inverted lock order).
    public static func run(seed: UInt64, defects: [String], trace sinks: [TraceSink] = []) -> Result {
        var options = SimulationOptions()
        options.maxTime = 60 * Nanos.second
        let simulation = Simulation(seed: seed, options: options)
        for sink in sinks { simulation.trace.add(sink: sink) }
        build(simulation, defects: defects)
        let outcome = simulation.run()
        return Result(outcome: outcome, fingerprint: simulation.trace.fingerprint, events: simulation.eventCount,
                      virtualNanoseconds: simulation.now, recent: simulation.trace.recent)
    }

    /// Sets up the demonstration on a simulation (used by the determinism check too).
    public static func build(_ simulation: Simulation, defects: [String]) {
        var demo = ShardedTrainingDemo()
        demo.invertLockOrder = defects.contains("A2")
        let applied = demo.build(on: simulation)
        let expected = demo.workerCount * demo.stepsPerWorker
        simulation.expect("training-progress", by: 50 * Nanos.second, {
            applied().allSatisfy { $0 == expected }
        }, message: { "shards applied \(applied()) updates, expected \(expected) each" })
    }
}
