import FirstSimulation
import SimTesting
import Testing

/// The same store under Swift Testing: `expectSimulationPasses` records an issue at the first
/// failing seed (with its reproduce command), or nothing when every seed passes.
@Test func theStoreLosesNoAcknowledgedWriteUnderSwiftTesting() {
    expectSimulationPasses(seeds: 1 ... 20) { seed in
        let run = runKeyValueStore(seed: seed, ackBeforeSync: false)
        return SeedRun(outcome: run.outcome, fingerprint: run.fingerprint)
    }
}
