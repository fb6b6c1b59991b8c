import XCTest
@testable import SimKernel
@testable import SimServices

/// The loop's draws, each from its own stream: changing one kind of draw changes nothing else.
final class ReproducibleTrainingNumericsTests: XCTestCase {
    static let rows = SyntheticDataset(seed: 7, featureCount: 8, trainCount: 200, testCount: 1).train

    func loop(seed: UInt64 = 42, dropout: Double = 0.1, hidden: Int = 16) -> ReproducibleTraining {
        ReproducibleTraining(spec: .init(name: "r", run: 1, seed: seed, dataset: "d", code: "c", epochs: 2, batchSize: 16, hidden: hidden, dropout: dropout),
                             rows: Self.rows, entropy: { 0 })
    }

    func testTheInitialModelDependsOnlyOnTheSeed() {
        XCTAssertEqual(loop(dropout: 0.1).model, loop(dropout: 0.5).model)
        XCTAssertNotEqual(loop(seed: 1).model, loop(seed: 2).model)
    }

    func testTheFirstOrderIsTheSeedsEpochZeroPermutation() {
        XCTAssertEqual(loop().order, ReproducibleTraining.order(count: 160, seed: 42, epoch: 0))
    }

    func testDropoutChangesTheFirstAppliedStepsState() {
        func firstApplied(_ l: ReproducibleTraining) -> String? {
            while let step = l.nextStep() { if !step.skipped { return step.stateHash } }
            return nil
        }
        XCTAssertNotEqual(firstApplied(loop(dropout: 0)), firstApplied(loop(dropout: 0.5)))
    }

    func testStepNumbersAndEpochsAdvanceTogether() {
        let l = loop()
        var steps: [(Int, Int)] = []
        while let step = l.nextStep() { steps.append((step.epoch, step.step)) }
        XCTAssertEqual(steps.count, 20)  // 160 training rows / 16, two epochs
        XCTAssertEqual(steps.map(\.1), Array(0 ..< 20))
        XCTAssertEqual(steps.map(\.0), Array(repeating: 0, count: 10) + Array(repeating: 1, count: 10))
    }

    func testTheLossIsFiniteAndFalls() {
        let l = loop()
        var losses: [Float] = []
        while let step = l.nextStep() { losses.append(step.loss) }
        XCTAssertTrue(losses.allSatisfy(\.isFinite))
        XCTAssertLessThan(losses.suffix(5).reduce(0, +), losses.prefix(5).reduce(0, +))
    }
}
