import ArgumentParser
import Chaos
import SimKernel
import SimServices

/// The run options shared by `scenario`, `explore` (and its workers) and `check-determinism`.
struct RunSelection: ParsableArguments {
    @Option(help: "Comma-separated defect IDs to switch on, or 'none' (default: the scenario's list).")
    var defects: String?

    @Option(help: "Fault profile: none, lite or swarm (default: the scenario's).")
    var faults: String?

    @Option(help: "Scheduling strategy: random, pct / pct:D (probabilistic concurrency testing, depth D, default 3), or portfolio (odd seeds random, even seeds pct).")
    var strategy: String = "random"

    @Flag(help: "Switch on the BUGGIFY fault points of service and infrastructure code (each call site active in a run with probability 1/4, from the seed).")
    var buggify = false

    func resolve(_ scenario: Scenario) -> (DefectSet, FaultProfile?, SchedulingStrategy) {
        let defectSet = parseDefects(defects, scenario: scenario)
        var profile: FaultProfile?
        if let faults {
            guard let p = FaultProfile(rawValue: faults) else { exitBadInput("--faults: unknown profile '\(faults)' (none, lite, swarm)") }
            profile = p
        }
        guard let parsed = strategy == "portfolio" ? .random : SchedulingStrategy(parsing: strategy) else {
            exitBadInput("--strategy: unknown strategy '\(strategy)' (random, pct, pct:D, portfolio)")
        }
        return (defectSet, profile, parsed)
    }

    /// The run these options select for `seed` of `scenario`.
    func configuration(_ scenario: Scenario, seed: UInt64) -> RunConfiguration {
        let (defectSet, profile, strategy) = resolve(scenario)
        var configuration = RunConfiguration(scenario: scenario, seed: seed, defects: defectSet, faults: scenario.faultOptions(seed: seed, profile: profile),
                                             strategy: self.strategy == "portfolio" ? RunConfiguration.portfolioStrategy(seed: seed) : strategy)
        configuration.buggify = buggify
        return configuration
    }
}
