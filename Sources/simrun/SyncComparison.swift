import Chaos
import Foundation
import SimKernel
import SimServices

extension BenchCommand {
    /// What one synchronisation mode gave over the seeds.
    struct SyncOutcome {
        var mode: SyncMode
        var accuracies: [Double] = []
        var completionSeconds: [Double] = []
        /// When the fastest worker pulled for its last step (virtual s).
        var fastestDoneSeconds: [Double] = []
        var meanStaleness: [Double] = []
        var maxStaleness = 0
        var unfinished = 0
    }

    /// `simrun bench --sync`: scenario 05's job without defects or faults, trained under SSP
    /// (bound 2) and under ASP with a staleness-aware learning rate, over the same seeds: held-out
    /// accuracy, virtual seconds until the job completed (its 40 steps on every worker), and the
    /// staleness of the applied updates.
    func runSync() {
        let base = loadScenario("05_distributed_training_hang")
        var outcomes: [SyncOutcome] = []
        for mode in [SyncMode.ssp, .asp] {
            var outcome = SyncOutcome(mode: mode)
            var scenario = base
            scenario.platform.job.syncMode = mode
            for seed in 1 ... scenarioSeeds {
                let configuration = RunConfiguration(scenario: scenario, seed: seed, defects: .empty, faults: scenario.faultOptions(seed: seed, profile: FaultProfile.none))
                let simulation = Simulation(seed: seed, options: ScenarioRunner.options(for: configuration))
                _ = ScenarioRunner.build(simulation, configuration)
                _ = simulation.run()
                let training = simulation.training
                guard let accuracy = training.finalAccuracy, let completed = training.jobCompletedAt else {
                    outcome.unfinished += 1
                    continue
                }
                outcome.accuracies.append(accuracy)
                outcome.completionSeconds.append(Double(completed) / 1e9)
                let pulls = training.shards.flatMap(\.servedPulls)
                let lastPull = (0 ..< training.workerClocks.count).compactMap { worker in pulls.filter { $0.worker == worker }.map(\.at).max() }
                outcome.fastestDoneSeconds.append(Double(lastPull.min() ?? completed) / 1e9)
                // determinism-ok: a histogram summed and maxed, order-free.
                let histogram = training.shards.flatMap { $0.stalenessHistogram.map { ($0.key, $0.value) } }
                let updates = histogram.reduce(0) { $0 + $1.1 }
                outcome.meanStaleness.append(updates == 0 ? 0 : Double(histogram.reduce(0) { $0 + $1.0 * $1.1 }) / Double(updates))
                outcome.maxStaleness = Swift.max(outcome.maxStaleness, histogram.map(\.0).max() ?? 0)
            }
            outcomes.append(outcome)
        }
        func mean(_ values: [Double]) -> Double { values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count) }
        if json {
            let rows = outcomes.map { outcome in
                "{\"mode\":\"\(outcome.mode.rawValue)\",\"runs\":\(outcome.accuracies.count),\"unfinished\":\(outcome.unfinished),\"mean_accuracy\":\(mean(outcome.accuracies)),\"min_accuracy\":\(outcome.accuracies.min() ?? 0),\"mean_completion_s\":\(mean(outcome.completionSeconds)),\"mean_fastest_worker_done_s\":\(mean(outcome.fastestDoneSeconds)),\"mean_staleness\":\(mean(outcome.meanStaleness)),\"max_staleness\":\(outcome.maxStaleness)}"
            }
            print("{\"scenario\":\"05_distributed_training_hang\",\"seeds\":\(scenarioSeeds),\"modes\":[\(rows.joined(separator: ","))]}")
            return
        }
        print("scenario 05's job, no defects, no faults, \(scenarioSeeds) seeds, 40 steps on 3 workers (one at 250 % step time):")
        print("mode  runs  accuracy mean (min)   job done / fastest worker done (virtual s)  staleness mean / max")
        for outcome in outcomes {
            let label = outcome.mode == .asp ? "asp*" : outcome.mode.rawValue
            print("\(label.padding(toLength: 6, withPad: " ", startingAt: 0))\(String(outcome.accuracies.count).padding(toLength: 6, withPad: " ", startingAt: 0))\(format3(mean(outcome.accuracies))) (\(format3(outcome.accuracies.min() ?? 0)))          \(format3(mean(outcome.completionSeconds))) / \(format3(mean(outcome.fastestDoneSeconds)))                           \(format3(mean(outcome.meanStaleness))) / \(outcome.maxStaleness)\(outcome.unfinished > 0 ? "  (\(outcome.unfinished) unfinished)" : "")")
        }
        print("* ASP with a staleness-aware learning rate: lr / (1 + tau) for an update tau versions stale.")
    }
}
