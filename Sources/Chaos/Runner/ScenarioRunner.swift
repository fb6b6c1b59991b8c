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
    /// Go on after a safety violation, collecting each checker's first finding (single runs).
    public var keepGoing = false
    /// Switch on the BUGGIFY fault points of service and infrastructure code (`Simulation.buggify`).
    public var buggify = false
    public init(scenario: Scenario, seed: UInt64, defects: DefectSet? = nil, faults: FaultOptions? = nil,
                strategy: SchedulingStrategy = .random, workloadSteps: Int? = nil, keepGoing: Bool = false) {
        self.scenario = scenario
        self.seed = seed
        self.defects = defects ?? DefectSet(scenario.defects)
        self.faults = faults ?? scenario.faultOptions(seed: seed)
        self.strategy = strategy
        self.workloadSteps = workloadSteps
        self.keepGoing = keepGoing
    }

    /// The strategy a portfolio (`--strategy portfolio`, as Coyote alternates its strategies)
    /// runs `seed` with: odd seeds random scheduling, even seeds PCT of depth 3. Each strategy
    /// finds some bugs more often than the other (PCT the ordering bugs of few steps, random the
    /// races that need many interleavings), so alternating them never costs more than half the
    /// better one's rate. The choice depends on the seed alone: a seed file records the strategy
    /// its seed ran with, and replays it.
    public static func portfolioStrategy(seed: UInt64) -> SchedulingStrategy { seed % 2 == 1 ? .random : .pct(depth: 3) }

    /// The `simrun scenario` command that runs exactly this run, or nil when none does: faults
    /// that are not what the seed and profile make (shrunk or explicit ones), a shortened
    /// workload, or a scenario no file holds, which only the seed file reproduces (`simrun replay`).
    public var reproduceCommand: String? {
        guard let profile = FaultProfile(rawValue: faults.profile), workloadSteps == nil, scenario.faultOptions(seed: seed, profile: profile) == faults,
              let name = scenario.commandLineName else { return nil }
        var command = "swift run -c release simrun scenario \(name) --seed \(seed) --defects \(defects) --faults \(profile.rawValue)"
        if case .pct(let depth) = strategy { command += " --strategy pct:\(depth)" }
        if buggify { command += " --buggify" }
        if !keepGoing { command += " --stop-at-first" }
        return command
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
    /// Every finding in order (with `keepGoing`, each checker's first; else the outcome, if failed).
    public var findings: [Outcome]
    public var fingerprint: UInt64
    public var events: UInt64
    /// Messages sent on the simulated network (requests, replies and one-way), duplicates aside.
    public var messages: Int
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
    /// Nodes and actors a failure report should show (named by the checker that failed).
    public var involvedActors: [String]
    /// Services that came up (ready), in topology order, and the nodes of the run.
    public var servicesUp: [String]
    public var nodes: [String]
    /// The registry version of the trained model, when the job completed.
    public var registeredVersion: String?
    /// What the inference replicas did, when the scenario deploys model versions.
    public var serving: ServingSummary?
    /// A checkpoint barrier nobody left at the end of the run: its round (the checkpoint clock)
    /// and how many workers had arrived, of how many (the incident's "stuck at 31/32").
    public var stuckBarrier: (round: Int, arrived: Int, of: Int)?
}

/// Model serving at the end of a run: deployments, predictions, and each replica's memory.
public struct ServingSummary: Sendable, Equatable {
    public struct Replica: Sendable, Equatable {
        public var node: String
        public var residentBytes: Int
        public var peakBytes: Int
        public var budgetBytes: Int
        public var baseBytes: Int
        public var cachedVersions: Int
        public var evictions: Int
        public var outOfMemoryKills: Int
    }
    public var deployments: Int
    public var predictions: Int
    /// Predictions answered with an internal error (5xx other than unavailability and gateway timeouts).
    public var failedPredictions: Int
    public var replicas: [Replica]
    /// The A/B experiment's last verdict (`arms` as version:samples:conversions, comparisons as
    /// version:z:significant), or nil when none was given.
    public var verdict: (arms: String, comparisons: String)?
    /// Batches computed and the requests they held (nil: no batching).
    public var batches: (count: Int, requests: Int)?
    /// Virtual latency (sent to answered) of the predictions answered 200, in ns: the 50th, 95th
    /// and 99th percentiles (nearest rank), nil when none was.
    public var latency: (p50: Int64, p95: Int64, p99: Int64)?
    /// The 50th, 95th and 99th percentiles of `values` by nearest rank (nil when empty).
    public static func percentiles(of values: [Int64]) -> (p50: Int64, p95: Int64, p99: Int64)? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        func rank(_ percent: Int) -> Int64 { sorted[Swift.max(0, (sorted.count * percent + 99) / 100 - 1)] }
        return (rank(50), rank(95), rank(99))
    }
    public static func == (a: ServingSummary, b: ServingSummary) -> Bool {
        a.deployments == b.deployments && a.predictions == b.predictions && a.failedPredictions == b.failedPredictions && a.replicas == b.replicas
            && a.verdict?.arms == b.verdict?.arms && a.verdict?.comparisons == b.verdict?.comparisons
            && a.batches?.count == b.batches?.count && a.batches?.requests == b.batches?.requests
            && a.latency?.p50 == b.latency?.p50 && a.latency?.p95 == b.latency?.p95 && a.latency?.p99 == b.latency?.p99
    }

    static func of(_ simulation: Simulation, topology: Topology) -> ServingSummary? {
        let serving = simulation.serving
        guard topology.has(role: "inference"), !serving.deployments.isEmpty else { return nil }
        let replicas = topology.nodes(role: "inference").compactMap { spec -> Replica? in
            guard let node = simulation.node(named: spec.name) else { return nil }
            let observed = serving.replicas[spec.name]
            return Replica(node: spec.name, residentBytes: node.memoryUsed, peakBytes: observed?.peakBytes ?? node.memoryUsed, budgetBytes: node.memoryBudget,
                           baseBytes: observed?.baseBytes ?? 0, cachedVersions: observed?.cached.count ?? 0, evictions: observed?.evictions ?? 0,
                           outOfMemoryKills: serving.outOfMemoryKills.filter { $0.node == spec.name }.count)
        }
        let verdict = serving.abVerdicts.last { $0.status == 200 }.flatMap { found in found.arms.flatMap { arms in found.comparisons.map { (arms, $0) } } }
        let batches = serving.batchSizes.isEmpty ? nil : (serving.batchSizes.values.reduce(0, +), serving.batchSizes.reduce(0) { $0 + $1.key * $1.value })
        return ServingSummary(deployments: serving.deployments.count, predictions: serving.answers.count,
                              failedPredictions: serving.answers.filter(\.isInternalError).count, replicas: replicas, verdict: verdict, batches: batches,
                              latency: ServingSummary.percentiles(of: serving.answers.filter { $0.status == 200 }.map { $0.answeredAt - $0.sentAt }))
    }
}

/// Builds and runs a scenario on a fresh simulation, the same way for every scenario: the
/// platform from the topology (start-up first, in a seed-chosen order), the nemesis, the
/// workloads, the checks.
public enum ScenarioRunner {
    /// The simulator's version: part of what a run is a function of, recorded in seed files.
    public static let simulatorVersion = "0.4.0"

    /// What a built run holds on to: the platform and its checkers.
    public struct Built {
        public let platform: Platform
        public let checkers: [any Checker]
    }

    /// Sets up the platform, faults, workloads and checks of `configuration` on `simulation`.
    @discardableResult
    public static func build(_ simulation: Simulation, _ configuration: RunConfiguration) -> Built {
        let scenario = configuration.effectiveScenario
        // Start-up is the first phase of every scenario: infrastructure and services start after
        // seed-chosen delays (0-5 s), in the order those delays give.
        var order = SimRandom(rootSeed: configuration.seed, stream: "start-order")
        var delays: [String: Int64] = [:]
        for node in scenario.topology.nodes where Topology.services.contains(node.role) || Topology.infrastructure.contains(where: { $0.role == node.role }) {
            delays[node.name] = order.uniform(0 ... 5 * Nanos.second)
        }
        var training: TrainingPlatformConfiguration?
        for workload in scenario.workloads { workload.configure(training: &training) }
        let serving = scenario.servingConfiguration
        let platform = Platform(on: simulation, topology: scenario.topology, defects: configuration.defects, disk: configuration.faults.disk,
                                startDelays: delays, training: training, serving: serving)
        Nemesis.apply(configuration.faults, to: simulation)
        for workload in scenario.workloads { workload.install(on: platform) }
        simulation.locks.deadlockPolicy = .failRun
        var checkers: [any Checker] = []
        for name in scenario.checks {
            guard let type = CheckerRegistry.type(named: name) else { preconditionFailure("check '\(name)' is not registered (the loader validates checks)") }
            let checker = type.init(scenario: scenario)
            checker.install(on: platform)
            checkers.append(checker)
        }
        let liveness = checkers.filter { $0.converged(simulation) != nil }
        if !liveness.isEmpty {
            // The run's goal: once faults have healed and every liveness check has converged,
            // nothing is left to show, so the run ends there instead of idling to its horizon.
            let healAt = configuration.faults.healAtMs * Nanos.millisecond
            // Judged once a virtual millisecond, not after every event: the liveness checks walk
            // the replicas and the logs, and the goal need not be seen the event it is reached.
            var judgedAt: Int64 = -Nanos.second
            simulation.add(checker: ClosureChecker("converged") { sim in
                guard sim.now >= healAt, sim.now - judgedAt >= Nanos.millisecond else { return nil }
                judgedAt = sim.now
                if liveness.allSatisfy({ $0.converged(sim) == true }) { sim.finish() }
                return nil
            })
            // At the deadline every liveness check is judged: the first that failed ends the run,
            // the others are findings beside it.
            let deadline = (scenario.healAtSeconds + scenario.convergeWithinSeconds) * Nanos.second
            simulation.schedule(at: deadline) {
                for (index, checker) in liveness.enumerated() where checker.converged(simulation) == false {
                    let failure = Outcome.livenessTimeout(check: type(of: checker).name, message: checker.livenessMessage(simulation), at: simulation.now)
                    if index == liveness.firstIndex(where: { $0.converged(simulation) == false }) { simulation.fail(failure) } else { simulation.addFinding(failure) }
                }
            }
        }
        return Built(platform: platform, checkers: checkers)
    }

    public static func options(for configuration: RunConfiguration) -> SimulationOptions {
        var options = options(for: configuration.scenario)
        options.strategy = configuration.strategy
        options.keepGoing = configuration.keepGoing
        options.buggify = configuration.buggify
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
    /// Runs `configuration`; `progress` is called now and then with the virtual time and the event
    /// count (a terminal's progress line; it cannot change the run).
    public static func run(_ configuration: RunConfiguration, sinks: [TraceSink] = [], progress: ((Int64, UInt64) -> Void)? = nil) -> RunResult {
        let first = run(configuration, sinks: sinks, ringCapacity: 0, progress: progress)
        guard first.outcome.isFailure else { return first }
        var detailed = run(configuration, sinks: [], ringCapacity: 512)
        precondition(detailed.fingerprint == first.fingerprint,
                     "nondeterminism: the detailed re-run of seed \(configuration.seed) gave \(hex64(detailed.fingerprint)), first run \(hex64(first.fingerprint))")
        detailed.wallSeconds = first.wallSeconds
        return detailed
    }

    static func run(_ configuration: RunConfiguration, sinks: [TraceSink], ringCapacity: Int, progress: ((Int64, UInt64) -> Void)? = nil) -> RunResult {
        var simulationOptions = options(for: configuration)
        simulationOptions.traceRingCapacity = ringCapacity
        let start = KernelBenchmark.wallSeconds()
        let simulation = Simulation(seed: configuration.seed, options: simulationOptions)
        for sink in sinks { simulation.trace.add(sink: sink) }
        simulation.onProgress = progress
        let built = build(simulation, configuration)
        var outcome = simulation.run()
        var findings = simulation.findings
        let wall = KernelBenchmark.wallSeconds() - start
        // Invariants of what the run left behind (the services' stores), judged once it ended:
        // after a run that stopped at a safety violation they would only repeat it.
        if outcome == .passed || configuration.keepGoing {
            for checker in built.checkers {
                guard let message = checker.finalViolation(simulation) else { continue }
                let violation = Outcome.violation(checker: type(of: checker).name, message: message, at: simulation.now)
                if outcome == .passed { outcome = violation }
                findings.append(violation)
            }
        }
        // A run that reached its horizon without its goal has not shown liveness.
        if outcome == .passed {
            for stuck in built.checkers where stuck.converged(simulation) == false {
                let failure = Outcome.livenessTimeout(check: type(of: stuck).name, message: stuck.livenessMessage(simulation), at: simulation.now)
                if outcome == .passed { outcome = failure }
                findings.append(failure)
            }
        }
        // The report shows the first finding (the outcome): its actors, and the trace's recent
        // events as they were when it was made.
        let ending = outcome
        let failed = ending.checker.flatMap { name in built.checkers.first { type(of: $0).name == name } }
            ?? (ending.kind == "deadlock" ? built.checkers.first { $0 is DeadlockChecker } : nil)
        let observations = simulation.training
        var histogram: [Int: Int] = [:]
        for shard in observations.shards { for (tau, count) in shard.stalenessHistogram { histogram[tau, default: 0] += count } }
        let services = simulation.platformObservations.services
        return RunResult(
            outcome: outcome, findings: findings, fingerprint: simulation.trace.fingerprint, events: simulation.eventCount,
            messages: simulation.network.statistics.sent, virtualNanoseconds: simulation.now, wallSeconds: wall, recent: simulation.recentAtFirstFinding ?? simulation.trace.recent,
            finalAccuracy: observations.finalAccuracy, finalLoss: observations.finalLoss, workerClocks: observations.workerClocks,
            checkpointsCommitted: observations.checkpointCommits.count, skippedMixedPrecisionSteps: observations.skippedSteps.reduce(0, +),
            stalenessHistogram: histogram, involvedActors: failed?.involved(in: ending, simulation) ?? [],
            servicesUp: configuration.scenario.topology.presentServices.filter { services[$0]?.ready == true },
            nodes: configuration.scenario.topology.names, registeredVersion: observations.registeredVersion,
            serving: ServingSummary.of(simulation, topology: configuration.scenario.topology),
            // Only for a hang (a deadlock, or the job never completing, among the findings): a run
            // stopped at another finding may simply have stopped while workers were at a barrier.
            stuckBarrier: !(findings + [outcome]).contains(where: { $0.kind == "deadlock" || $0.checker == "progress" }) ? nil
                : observations.barrierArrivals.last.flatMap { last in
                    observations.barrierExits.contains { $0.round == last.round } ? nil
                        : (last.round, last.arrived, configuration.effectiveScenario.platform.workers)
                })
    }
}

extension ScenarioRunner {
    /// Runs `configuration` once, without trace details: the outcome, fingerprint and figures of
    /// `run`, but no recent events (`recent` is empty) and no second run. `explore` uses it, since
    /// it stores no events: a failing seed's details come from replaying its seed file, which
    /// runs it again and checks the fingerprint recorded here.
    public static func runWithoutDetails(_ configuration: RunConfiguration) -> RunResult {
        run(configuration, sinks: [], ringCapacity: 0)
    }

    /// Runs `configuration` recording every trace record (for reports).
    public static func runRecorded(_ configuration: RunConfiguration) -> (RunResult, [TraceRecord], [String]) {
        let recorder = RecordingTraceSink()
        let result = run(configuration, sinks: [recorder], ringCapacity: 512)
        return (result, recorder.records, configuration.effectiveScenario.allNodes)
    }
}
