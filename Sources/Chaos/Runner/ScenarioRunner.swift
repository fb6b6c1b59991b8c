import SimKernel
import SimServices

/// Everything a run depends on besides the simulator's version.
public struct RunConfiguration: Sendable {
    public var scenario: Scenario
    public var seed: UInt64
    public var defects: DefectSet
    public var faults: FaultOptions
    public var strategy: SchedulingStrategy
    /// Iterations per worker, when a shrunk seed file shortened the workload.
    public var workloadSteps: Int?
    public init(scenario: Scenario, seed: UInt64, defects: DefectSet? = nil, faults: FaultOptions? = nil,
                strategy: SchedulingStrategy = .random, workloadSteps: Int? = nil) {
        self.scenario = scenario
        self.seed = seed
        self.defects = defects ?? DefectSet(scenario.defects)
        self.faults = faults ?? scenario.faultOptions(seed: seed)
        self.strategy = strategy
        self.workloadSteps = workloadSteps
    }

    /// The scenario with the workload override applied.
    public var effectiveScenario: Scenario {
        var scenario = self.scenario
        if let workloadSteps { scenario.platform.job.steps = workloadSteps }
        return scenario
    }
}

/// What a run produced.
public struct RunResult: Sendable {
    public var outcome: Outcome
    public var fingerprint: UInt64
    public var events: UInt64
    public var virtualNanoseconds: Int64
    public var wallSeconds: Double
    public var recent: [TraceRecord]
    public var finalAccuracy: Double?
    public var finalLoss: Float?
    public var workerClocks: [Int]
    public var checkpointsCommitted: Int
    public var skippedMixedPrecisionSteps: Int
    /// Staleness (in versions) of applied updates, summed over shards: tau -> count.
    public var stalenessHistogram: [Int: Int]

    /// Nodes and actors a failure report should show: the members of a deadlock cycle, or the
    /// shard named in a violation.
    public var involvedActors: [String] {
        switch outcome {
        case .deadlock(let cycle): return cycle.members.map(\.owner)
        case .violation(_, let message, _), .livenessTimeout(_, let message, _):
            return message.split(whereSeparator: { !$0.isLetter && !$0.isNumber && $0 != "-" }).map(String.init)
                .filter { $0.hasPrefix("ps-") || $0.hasPrefix("worker-") || $0 == "storage" }
        default: return []
        }
    }
}

/// Builds and runs a scenario on a fresh simulation.
public enum ScenarioRunner {
    /// The simulator's version: part of what a run is a function of, recorded in seed files.
    public static let simulatorVersion = "0.3.0"

    /// Sets up the platform, faults and checks of `configuration` on `simulation`.
    public static func build(_ simulation: Simulation, _ configuration: RunConfiguration) {
        let scenario = configuration.effectiveScenario
        if scenario.kind == .coldStart { return buildColdStart(simulation, configuration) }
        _ = TrainingPlatform(on: simulation, configuration: scenario.platform, defects: configuration.defects, disk: configuration.faults.disk)
        Nemesis.apply(configuration.faults, to: simulation)
        let checks = scenario.checks
        if checks.contains("ps-consistency") { simulation.add(checker: ParameterServerConsistencyChecker()) }
        if checks.contains("staleness") { simulation.add(checker: StalenessChecker(bound: scenario.platform.job.stalenessBound)) }
        if checks.contains("checkpoint-integrity") { simulation.add(checker: CheckpointIntegrityChecker(parameterCount: scenario.platform.features + 1)) }
        simulation.locks.deadlockPolicy = .failRun  // "deadlock" is the kernel's own check
        if checks.contains("progress") {
            let deadline = (scenario.healAtSeconds + scenario.convergeWithinSeconds) * Nanos.second
            let minAccuracy = scenario.minAccuracy
            let converged = {
                let o = simulation.training
                guard o.jobCompleted, let loss = o.finalLoss, let initial = o.initialLoss, let accuracy = o.finalAccuracy else { return false }
                return loss < initial * 0.9 && accuracy >= minAccuracy
            }
            // The run's goal: once faults have healed and the job has converged, nothing is left to
            // show, so the run ends there instead of idling to its horizon.
            let healAt = configuration.faults.healAtMs * Nanos.millisecond
            simulation.add(checker: ClosureChecker("converged") { sim in
                if sim.now >= healAt && converged() { sim.finish() }
                return nil
            })
            simulation.expect("progress", by: deadline, converged, message: {
                let o = simulation.training
                if !o.jobCompleted {
                    return "the job did not complete within \(scenario.convergeWithinSeconds) s after faults healed: worker clocks \(o.workerClocks) of \(scenario.platform.job.steps)"
                }
                return "the job completed but did not learn: accuracy \(o.finalAccuracy ?? 0) (need \(minAccuracy)), loss \(o.finalLoss ?? 0) vs initial \(o.initialLoss ?? 0)"
            })
        }
    }

    /// Scenario 00: the whole platform starting in a seed-chosen order with seed-chosen delays.
    static func buildColdStart(_ simulation: Simulation, _ configuration: RunConfiguration) {
        let scenario = configuration.effectiveScenario
        var order = SimRandom(rootSeed: configuration.seed, stream: "start-order")
        var delays: [String: Int64] = [:]
        for name in ServicePlatform.infrastructure + ServicePlatform.services { delays[name] = order.uniform(0 ... 5 * Nanos.second) }
        _ = ServicePlatform(on: simulation, defects: configuration.defects, startDelays: delays, disk: configuration.faults.disk)
        Nemesis.apply(configuration.faults, to: simulation)
        simulation.locks.deadlockPolicy = .failRun
        if scenario.checks.contains("routing") { simulation.add(checker: RoutingChecker()) }
        if scenario.checks.contains("cold-start") {
            let healAt = configuration.faults.healAtMs * Nanos.millisecond
            simulation.add(checker: ClosureChecker("converged") { sim in
                if sim.now >= healAt && ColdStartLiveness.converged(sim) { sim.finish() }
                return nil
            })
            let deadline = (scenario.healAtSeconds + scenario.convergeWithinSeconds) * Nanos.second
            simulation.expect("cold-start", by: deadline, { ColdStartLiveness.converged(simulation) }, message: { ColdStartLiveness.message(simulation) })
        }
    }

    public static func options(for configuration: RunConfiguration) -> SimulationOptions {
        var options = options(for: configuration.scenario)
        options.strategy = configuration.strategy
        return options
    }

    public static func options(for scenario: Scenario) -> SimulationOptions {
        var options = SimulationOptions()
        options.maxTime = scenario.durationSeconds * Nanos.second
        options.maxEvents = 20_000_000
        return options
    }

    /// Runs one configuration. `sinks` receive the trace.
    ///
    /// Runs keep no trace details (they cost more than the simulation itself); when a run fails, it
    /// is run again with the ring buffer on, which changes nothing but what is recorded, to give
    /// the failure report its last events.
    public static func run(_ configuration: RunConfiguration, sinks: [TraceSink] = []) -> RunResult {
        let first = run(configuration, sinks: sinks, ringCapacity: 0)
        guard first.outcome.isFailure else { return first }
        var detailed = run(configuration, sinks: [], ringCapacity: 512)
        precondition(detailed.fingerprint == first.fingerprint,
                     "nondeterminism: the detailed re-run of seed \(configuration.seed) gave \(hex64(detailed.fingerprint)), first run \(hex64(first.fingerprint))")
        detailed.wallSeconds = first.wallSeconds
        return detailed
    }

    static func run(_ configuration: RunConfiguration, sinks: [TraceSink], ringCapacity: Int) -> RunResult {
        var simulationOptions = options(for: configuration)
        simulationOptions.traceRingCapacity = ringCapacity
        let start = KernelBenchmark.wallSeconds()
        let simulation = Simulation(seed: configuration.seed, options: simulationOptions)
        for sink in sinks { simulation.trace.add(sink: sink) }
        build(simulation, configuration)
        var outcome = simulation.run()
        let wall = KernelBenchmark.wallSeconds() - start
        // A run that reached its horizon without the job finishing has not shown liveness.
        if outcome == .passed && configuration.effectiveScenario.checks.contains("cold-start") && !ColdStartLiveness.converged(simulation) {
            outcome = .livenessTimeout(check: "cold-start", message: ColdStartLiveness.message(simulation), at: simulation.now)
        }
        if outcome == .passed && configuration.effectiveScenario.checks.contains("progress") && !simulation.training.jobCompleted {
            outcome = .livenessTimeout(check: "progress", message: "the run ended before the job completed", at: simulation.now)
        }
        let observations = simulation.training
        var histogram: [Int: Int] = [:]
        for shard in observations.shards { for (tau, count) in shard.stalenessHistogram { histogram[tau, default: 0] += count } }
        return RunResult(
            outcome: outcome, fingerprint: simulation.trace.fingerprint, events: simulation.eventCount,
            virtualNanoseconds: simulation.now, wallSeconds: wall, recent: simulation.trace.recent,
            finalAccuracy: observations.finalAccuracy, finalLoss: observations.finalLoss, workerClocks: observations.workerClocks,
            checkpointsCommitted: observations.checkpointCommits.count, skippedMixedPrecisionSteps: observations.skippedSteps.reduce(0, +),
            stalenessHistogram: histogram)
    }
}

extension ScenarioRunner {
    /// Runs `configuration` recording every trace record (for reports).
    public static func runRecorded(_ configuration: RunConfiguration) -> (RunResult, [TraceRecord], [String]) {
        let recorder = RecordingTraceSink()
        let result = run(configuration, sinks: [recorder], ringCapacity: 512)
        let scenario = configuration.effectiveScenario
        let nodes = scenario.kind == .coldStart ? scenario.allNodes : ["training", "scheduler", "storage"] + (0 ..< scenario.platform.parameterServers).map { "ps-\($0)" }
            + (0 ..< scenario.platform.workers).map { "worker-\($0)" } + ["client"]
        return (result, recorder.records, nodes)
    }
}
