#if canImport(Glibc)
import Glibc
#endif

/// Micro-benchmarks of the kernel, for `simrun bench`. They measure wall time, which never
/// reaches a simulation's decisions.
public enum KernelBenchmark {
    /// Wall-clock seconds from a monotonic clock. determinism-ok: benchmark timing only.
    public static func wallSeconds() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) * 1e-9
    }

    /// The result of one measurement.
    public struct Measurement: Sendable {
        public var operations: UInt64
        public var seconds: Double
        public var perSecond: Double { seconds > 0 ? Double(operations) / seconds : 0 }
        /// A checksum of the work done, so the work cannot be optimised away and runs can be compared.
        public var checksum: UInt64

        public init(operations: UInt64, seconds: Double, checksum: UInt64) {
            self.operations = operations
            self.seconds = seconds
            self.checksum = checksum
        }
    }

    /// The workload of `shared/bench/heap_baseline.c`, through the kernel's run loop: `pending`
    /// events are queued, then each event schedules one new event at now + 1 + (r mod maxDelay),
    /// r from SplitMix64 seeded as in the C program. One event = one pop + one push.
    public static func eventChurn(pending: Int, events: UInt64, maxDelay: UInt64 = 1_000_000) -> Measurement {
        var options = SimulationOptions()
        options.maxTime = Int64.max
        options.maxEvents = events
        options.traceRingCapacity = 0
        let simulation = Simulation(seed: 1, options: options)
        var random = SplitMix64(seed: 0x9E37_79B9_7F4A_7C15)
        for _ in 0 ..< pending {
            let r = random.next()
            simulation.push(time: Int64(1 + r % maxDelay), handler: 1, argument: r >> 60)
        }
        let churn = ChurnHandler(simulation: simulation, random: random, maxDelay: maxDelay)
        let handler = simulation.register(handler: churn)
        precondition(handler.index == 1, "the churn handler must be handler 1, got \(handler.index)")
        let start = wallSeconds()
        simulation.run()
        let seconds = wallSeconds() - start
        return Measurement(operations: simulation.eventCount, seconds: seconds, checksum: churn.sum ^ UInt64(simulation.now))
    }

    /// The churn workload's handler: a class, as a kernel component's hot handler would be.
    final class ChurnHandler: EventHandler {
        /// Unmanaged: the simulation owns its handlers, and a guaranteed reference costs no retain.
        let simulation: Unmanaged<Simulation>
        var random: SplitMix64
        var sum: UInt64 = 0
        let maxDelay: UInt64
        init(simulation: Simulation, random: SplitMix64, maxDelay: UInt64) {
            self.simulation = Unmanaged.passUnretained(simulation)
            self.random = random
            self.maxDelay = maxDelay
        }
        override func handle(_ argument: UInt64) {
            sum &+= argument
            let r = random.next()
            let delay = 1 &+ Int64(r % maxDelay)
            simulation._withUnsafeGuaranteedRef { $0.push(time: $0.now &+ delay, handler: 1, argument: r >> 60) }
        }
    }

    /// Async round trips: one task suspends on a continuation and the event loop resumes it,
    /// `count` times (each is one event and one job).
    public static func asyncRoundTrips(count: Int) -> Measurement {
        var options = SimulationOptions()
        options.traceRingCapacity = 0
        let simulation = Simulation(seed: 1, options: options)
        var done = 0
        simulation.spawn {
            for _ in 0 ..< count {
                await simulation.yield()
                done += 1
            }
        }
        let start = wallSeconds()
        simulation.run()
        let seconds = wallSeconds() - start
        precondition(done == count, "async round trips: \(done) of \(count) completed")
        return Measurement(operations: UInt64(count), seconds: seconds, checksum: simulation.trace.fingerprint)
    }
}
