import XCTest
@testable import SimKernel
@testable import SimServices

/// The training loop of scenario 02: with the job's seed every draw is a function of (seed, what is
/// drawn), so two loops agree bit for bit; each defect's variant breaks exactly what it names.
final class ReproducibleTrainingTests: XCTestCase {
    static let rows = SyntheticDataset(seed: 7, featureCount: 8, trainCount: 400, testCount: 1).train

    func spec(seed: UInt64? = 42, epochs: Int = 3) -> ReproducibleTraining.Spec {
        ReproducibleTraining.Spec(name: "r", run: 1, seed: seed, dataset: "d", code: "c", epochs: epochs, batchSize: 32)
    }

    /// A generator standing for a worker process's own randomness.
    func entropy(_ seed: UInt64) -> () -> UInt64 {
        var random = SimRandom(seed: seed)
        return { random.next() }
    }

    func hashes(_ loop: ReproducibleTraining) -> [String] {
        var out: [String] = []
        while let step = loop.nextStep() { out.append(step.stateHash) }
        return out
    }

    func testTheSameSeedGivesTheSameHashAtEveryStep() {
        let a = hashes(ReproducibleTraining(spec: spec(), rows: Self.rows, entropy: entropy(1)))
        let b = hashes(ReproducibleTraining(spec: spec(), rows: Self.rows, entropy: entropy(2)))
        XCTAssertEqual(a.count, 30)  // 320 training rows / 32, three epochs
        XCTAssertEqual(a, b)
    }

    func testAnotherSeedDivergesAtTheFirstStep() {
        let a = hashes(ReproducibleTraining(spec: spec(seed: 42), rows: Self.rows, entropy: entropy(1)))
        let b = hashes(ReproducibleTraining(spec: spec(seed: 43), rows: Self.rows, entropy: entropy(1)))
        XCTAssertNotEqual(a[0], b[0])
    }

    func testTheLastFifthOfTheRowsValidates() {
        let loop = ReproducibleTraining(spec: spec(), rows: Self.rows, entropy: entropy(1))
        XCTAssertEqual(loop.train.count, 320)
        XCTAssertEqual(loop.validation.count, 80)
        XCTAssertEqual(loop.validation[0], Self.rows[320])
    }

    func testEachEpochsOrderIsAPermutationThatDiffersFromTheLast() {
        let orders = (0 ..< 4).map { ReproducibleTraining.order(count: 320, seed: 42, epoch: $0) }
        for order in orders { XCTAssertEqual(order.sorted(), Array(0 ..< 320)) }
        for epoch in 1 ..< 4 { XCTAssertNotEqual(orders[epoch], orders[epoch - 1]) }
    }

    func testTheOrderDependsOnlyOnSeedAndEpoch() {
        XCTAssertEqual(ReproducibleTraining.order(count: 100, seed: 42, epoch: 2), ReproducibleTraining.order(count: 100, seed: 42, epoch: 2))
        XCTAssertNotEqual(ReproducibleTraining.order(count: 100, seed: 42, epoch: 2), ReproducibleTraining.order(count: 100, seed: 41, epoch: 2))
    }

    func testTheLoopDrawsTheNextEpochsOrderAtTheBoundary() {
        let loop = ReproducibleTraining(spec: spec(), rows: Self.rows, entropy: entropy(1))
        for _ in 0 ..< loop.stepsPerEpoch { _ = loop.nextStep() }
        XCTAssertEqual(loop.epoch, 1)
        XCTAssertEqual(loop.order, ReproducibleTraining.order(count: 320, seed: 42, epoch: 1))
    }

    func testWithoutReshufflingEveryEpochHasTheSameOrder() {
        let loop = ReproducibleTraining(spec: spec(), rows: Self.rows, variant: .init(unshuffledEpochs: true), entropy: entropy(1))
        let first = loop.order
        for _ in 0 ..< loop.stepsPerEpoch { _ = loop.nextStep() }
        XCTAssertEqual(loop.order, first)
    }

    func testAnAugmenterThatIgnoresTheSeedMakesSameSeedRunsDiverge() {
        let variant = ReproducibleTraining.Variant(unseededAugmenter: true)
        let a = hashes(ReproducibleTraining(spec: spec(), rows: Self.rows, variant: variant, entropy: entropy(1)))
        let b = hashes(ReproducibleTraining(spec: spec(), rows: Self.rows, variant: variant, entropy: entropy(2)))
        XCTAssertNotEqual(a[0], b[0])
    }

    func testAJobWithoutItsSeedTakesTheWorkersOwn() {
        // E3: nothing but the worker's generator decides the draws: same generator, same run;
        // another generator, another run.
        let a = ReproducibleTraining(spec: spec(seed: nil), rows: Self.rows, entropy: entropy(1))
        let b = ReproducibleTraining(spec: spec(seed: nil), rows: Self.rows, entropy: entropy(1))
        let c = ReproducibleTraining(spec: spec(seed: nil), rows: Self.rows, entropy: entropy(2))
        XCTAssertEqual(a.seed, b.seed)
        XCTAssertNotEqual(a.seed, c.seed)
        XCTAssertNotEqual(hashes(a)[0], hashes(c)[0])
    }

    /// The rates applied, by optimizer step (skipped, overflowed steps left out).
    func appliedRates(_ loop: ReproducibleTraining) -> [Int: Double] {
        var rates: [Int: Double] = [:]
        while let step = loop.nextStep() {
            if !step.skipped { rates[step.optimizerStep] = step.rate }
        }
        return rates
    }

    func testTheOptimizerStepsBeforeTheScheduler() {
        // The first applied step runs at the base rate (the scheduler has not stepped yet); the
        // ninth applied step at the restarted base rate after eight steps of decay.
        let rates = appliedRates(ReproducibleTraining(spec: spec(), rows: Self.rows, entropy: entropy(1)))
        XCTAssertEqual(rates[0], 0.1)
        XCTAssertEqual(rates[8] ?? 0, 0.1, accuracy: 1e-15)
        XCTAssertLessThan(rates[7] ?? 1, 0.1)
    }

    func testTheLateRestartAppliesEtaMinAtTheBoundary() {
        let rates = appliedRates(ReproducibleTraining(spec: spec(), rows: Self.rows, variant: .init(restartLate: true), entropy: entropy(1)))
        XCTAssertEqual(rates[8] ?? 0, 0.001, accuracy: 1e-15)
    }

    func testOverflowedStepsAreSkippedAndHalveTheScale() {
        // At 2^24 the first fp16 gradients overflow: each such step is skipped (state unchanged,
        // scheduler unmoved) and the next runs at half the scale, until one fits.
        let loop = ReproducibleTraining(spec: spec(), rows: Self.rows, entropy: entropy(1))
        var previous: ReproducibleTraining.Step?
        var skipped = 0
        while true {
            let parameters = loop.model.parameters
            guard let step = loop.nextStep() else { break }
            if step.skipped { XCTAssertEqual(loop.model.parameters, parameters, "a skipped step applies nothing") }
            XCTAssertEqual(step.skipped, step.overflowed)
            XCTAssertTrue(step.finite)
            if let previous, previous.skipped {
                XCTAssertEqual(step.scale, previous.scale / 2)
                XCTAssertEqual(step.optimizerStep, previous.optimizerStep, "a skipped step does not move the scheduler")
                XCTAssertEqual(step.rate, previous.rate)
            }
            if step.skipped { skipped += 1 }
            previous = step
        }
        XCTAssertGreaterThan(skipped, 0, "the initial scale overflows")
        XCTAssertEqual(loop.optimizerSteps, 30 - skipped)
    }

    func testApplyingAnOverflowedGradientPoisonsTheModel() {
        let loop = ReproducibleTraining(spec: spec(), rows: Self.rows, variant: .init(applyNonFinite: true), entropy: entropy(1))
        let first = loop.nextStep()!
        XCTAssertTrue(first.overflowed)
        XCTAssertFalse(first.skipped)
        XCTAssertFalse(first.finite)
        XCTAssertEqual(loop.nextStep()?.scale, first.scale, "the scale never drops")
    }

    func testEvaluationLeavesTheModelAndScoresEachRowOnItsOwn() {
        let loop = ReproducibleTraining(spec: spec(), rows: Self.rows, entropy: entropy(1))
        for _ in 0 ..< loop.stepsPerEpoch { _ = loop.nextStep() }
        let evaluation = loop.evaluate()
        XCTAssertTrue(evaluation.modelUnchanged)
        XCTAssertEqual(evaluation.alone, evaluation.inBatch)
        XCTAssertEqual(evaluation.epoch, 0)
    }

    func testLeakedBatchStatisticsShowInTheEvaluation() {
        let loop = ReproducibleTraining(spec: spec(), rows: Self.rows, variant: .init(leakBatchStatistics: true), entropy: entropy(1))
        for _ in 0 ..< loop.stepsPerEpoch { _ = loop.nextStep() }
        let evaluation = loop.evaluate()
        XCTAssertFalse(evaluation.modelUnchanged)
        XCTAssertNotEqual(evaluation.alone, evaluation.inBatch)
    }

    func testTrainingLearnsTheHiddenRule() {
        // The data's labels follow a noisy linear rule a linear model gets about 90 % right; an
        // untrained MLP scores about 0.5 AUC. After four epochs the validation AUC must exceed 0.85.
        let loop = ReproducibleTraining(spec: spec(epochs: 4), rows: SyntheticDataset(seed: 7, featureCount: 8, trainCount: 1024, testCount: 1).train,
                                        entropy: entropy(1))
        while loop.nextStep() != nil {}
        XCTAssertGreaterThan(loop.evaluate().auc, 0.85)
    }

    func testALastPartialBatchIsDropped() {
        let loop = ReproducibleTraining(spec: spec(epochs: 1), rows: Array(Self.rows.prefix(100)), entropy: entropy(1))
        XCTAssertEqual(loop.stepsPerEpoch, 2)  // 80 training rows, batches of 32
        XCTAssertNotNil(loop.nextStep())
        XCTAssertNotNil(loop.nextStep())
        XCTAssertNil(loop.nextStep())
        XCTAssertTrue(loop.finished)
    }
}
