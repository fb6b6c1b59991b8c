import XCTest
@testable import SimKernel
@testable import SimServices

/// The MLP's batch norm against values derived by hand from PyTorch's `BatchNorm1d` definition
/// (biased variance to normalise, unbiased variance into the running estimate, momentum 0.1), and
/// its backward pass against central finite differences of its own loss.
final class BatchNormMLPTests: XCTestCase {
    /// One input, one hidden unit, weight 1 and bias 0: the pre-activations are the inputs.
    func identityModel() -> BatchNormMLP {
        var random = SimRandom(seed: 1)
        var model = BatchNormMLP(inputs: 1, hidden: 1, random: &random)
        model.w1 = [1]
        model.b1 = [0]
        model.w2 = [1]
        model.b2 = 0
        return model
    }

    func testTrainingMovesTheRunningMeanByMomentumTowardsTheBatchMean() {
        var model = identityModel()
        _ = model.trainingGradient([[1], [2], [3], [4]], labels: [0, 0, 1, 1])
        // 0.9 * 0 + 0.1 * 2.5
        XCTAssertEqual(model.runningMean[0], 0.25, accuracy: 1e-7)
    }

    func testTrainingMovesTheRunningVarianceTowardsTheUnbiasedBatchVariance() {
        var model = identityModel()
        _ = model.trainingGradient([[1], [2], [3], [4]], labels: [0, 0, 1, 1])
        // Biased variance 1.25, unbiased 1.25 * 4/3 = 5/3: 0.9 * 1 + 0.1 * 5/3.
        XCTAssertEqual(model.runningVar[0], 0.9 + 0.1 * 5 / 3, accuracy: 1e-6)
    }

    func testEvaluationNormalisesWithTheRunningStatistics() {
        var model = identityModel()
        model.runningMean = [2]
        model.runningVar = [4]
        // (4 - 2) / sqrt(4 + 1e-5) = 0.99999875, ReLU, then sigmoid.
        let p = model.predict([[4]])[0]
        XCTAssertEqual(p, 1 / (1 + expf(-2 / (4 + 1e-5 as Float).squareRoot())), accuracy: 1e-6)
    }

    func testEvaluationLeavesTheModelUnchanged() {
        var random = SimRandom(seed: 3)
        var model = BatchNormMLP(inputs: 3, hidden: 5, random: &random)
        _ = model.trainingGradient([[1, 2, 3], [0, 1, 0], [2, 2, 1]], labels: [1, 0, 1])
        let before = model
        _ = model.predict([[1, 1, 1], [0, 0, 0]])
        XCTAssertEqual(model, before)
    }

    func testAnEvaluatedRowScoresTheSameAloneAndAmongOthers() {
        var random = SimRandom(seed: 4)
        var model = BatchNormMLP(inputs: 2, hidden: 4, random: &random)
        _ = model.trainingGradient([[1, 2], [0, 1], [3, -1], [2, 2]], labels: [1, 0, 1, 0])
        let alone = model.predict([[0.5, -0.5]])[0]
        let among = model.predict([[0.5, -0.5], [9, 9], [-4, 2]])[0]
        XCTAssertEqual(alone, among)
    }

    func testLeakedBatchStatisticsMakeARowDependOnItsNeighbours() {
        var random = SimRandom(seed: 4)
        var model = BatchNormMLP(inputs: 2, hidden: 4, random: &random)
        _ = model.trainingGradient([[1, 2], [0, 1], [3, -1], [2, 2]], labels: [1, 0, 1, 0])
        var copy = model
        // Row [9, 9] normalises to exactly +1 per unit in a batch of two, to about 1.4 in three.
        let small = model.predict([[9, 9], [0, 0]], leakBatchStatistics: true)[0]
        let large = copy.predict([[9, 9], [1, 1], [2, -3]], leakBatchStatistics: true)[0]
        XCTAssertNotEqual(small, large)
    }

    func testLeakedBatchStatisticsMoveTheRunningStatisticsInEvaluation() {
        var random = SimRandom(seed: 4)
        var model = BatchNormMLP(inputs: 2, hidden: 4, random: &random)
        let before = model.runningMean
        _ = model.predict([[0.5, -0.5], [1, 1]], leakBatchStatistics: true)
        XCTAssertNotEqual(model.runningMean, before)
    }

    func testTheTrainingBatchIsNormalisedToZeroMeanBeforeGammaAndBeta() {
        // With gamma 1, beta 0 and every pre-activation of a unit shifted by a constant, the batch
        // statistics absorb the shift: the gradient does not change.
        var a = identityModel(), b = identityModel()
        b.b1 = [100]
        let ga = a.trainingGradient([[1], [2], [3], [5]], labels: [0, 1, 0, 1])
        let gb = b.trainingGradient([[1], [2], [3], [5]], labels: [0, 1, 0, 1])
        XCTAssertEqual(ga.loss, gb.loss, accuracy: 1e-6)
        XCTAssertEqual(ga.w2[0], gb.w2[0], accuracy: 1e-6)
    }

    func testTheBiasBeforeBatchNormGetsNoGradient() {
        // Batch norm subtracts the batch mean, so b1 cancels: its exact gradient is 0.
        var random = SimRandom(seed: 9)
        var model = BatchNormMLP(inputs: 3, hidden: 6, random: &random)
        let g = model.trainingGradient([[1, 0, 2], [0, 1, 1], [2, 2, 0], [1, -1, 1]], labels: [1, 0, 1, 0])
        for value in g.b1 { XCTAssertEqual(value, 0, accuracy: 1e-6) }
    }

    /// Central differences of the training loss (batch statistics, fixed dropout mask) in Double
    /// steps of 1e-2 on a Float model: agreement to 2 % relative (or 1e-3 absolute) is what fp32
    /// rounding of the loss allows at that step.
    func testEveryGradientEntryMatchesFiniteDifferences() {
        var random = SimRandom(seed: 11)
        let model = BatchNormMLP(inputs: 3, hidden: 4, random: &random)
        let batch: [[Float]] = [[0.5, -1, 2], [1, 0.3, -0.2], [-1, 1, 0.7], [0.2, 0.2, -1.5], [1.5, -0.5, 0.1]]
        let labels: [Float] = [1, 0, 1, 0, 1]
        let keep: [[Float]] = batch.indices.map { r in (0 ..< 4).map { j in (r + j) % 4 == 0 ? 0 : 1.25 } }
        var copy = model
        let analytic = copy.trainingGradient(batch, labels: labels, keep: keep).flat
        let count = model.parameters.count
        for k in 0 ..< count {
            func loss(_ delta: Float) -> Float {
                var flat = model.parameters
                flat[k] += delta
                var perturbed = model.withParameters(flat)
                return perturbed.trainingGradient(batch, labels: labels, keep: keep).loss
            }
            let numeric = (loss(1e-2) - loss(-1e-2)) / 2e-2
            XCTAssertEqual(analytic[k], numeric, accuracy: Swift.max(1e-3, 0.02 * abs(numeric)), "parameter \(k)")
        }
    }

    func testSGDSubtractsTheRateTimesTheGradient() {
        var random = SimRandom(seed: 5)
        var model = BatchNormMLP(inputs: 2, hidden: 3, random: &random)
        var copy = model
        let g = copy.trainingGradient([[1, 2], [2, 1], [0, 0]], labels: [1, 0, 1])
        let before = model.parameters
        model.apply(g, rate: 0.5)
        for (k, value) in model.parameters.enumerated() { XCTAssertEqual(value, before[k] - 0.5 * g.flat[k], accuracy: 1e-7) }
    }

    func testTheInitialiserDrawsWithinOneOverRootFanIn() {
        var random = SimRandom(seed: 6)
        let model = BatchNormMLP(inputs: 16, hidden: 4, random: &random)
        XCTAssertTrue(model.w1.allSatisfy { abs($0) <= 0.25 })
        XCTAssertTrue(model.w2.allSatisfy { abs($0) <= 0.5 })
        XCTAssertEqual(model.gamma, [1, 1, 1, 1])
        XCTAssertEqual(model.beta, [0, 0, 0, 0])
    }

    func testTheStateHashSeesEveryBitOfTheRunningStatistics() {
        var random = SimRandom(seed: 6)
        var model = BatchNormMLP(inputs: 2, hidden: 2, random: &random)
        let hash = model.stateHash
        model.runningVar[1] = model.runningVar[1].nextUp
        XCTAssertNotEqual(model.stateHash, hash)
        XCTAssertEqual(model.stateHash.count, 64)
    }

    func testTheSameSeedInitialisesBitIdenticalModels() {
        var a = SimRandom(rootSeed: 42, stream: "init"), b = SimRandom(rootSeed: 42, stream: "init")
        XCTAssertEqual(BatchNormMLP(inputs: 8, hidden: 16, random: &a).stateHash, BatchNormMLP(inputs: 8, hidden: 16, random: &b).stateHash)
    }
}

extension BatchNormMLP {
    /// A copy with its trainable parameters replaced (in `parameters` order).
    func withParameters(_ flat: [Float]) -> BatchNormMLP {
        var copy = self
        var index = 0
        func take(_ count: Int) -> [Float] {
            defer { index += count }
            return Array(flat[index ..< index + count])
        }
        copy.w1 = take(hidden * inputs)
        copy.b1 = take(hidden)
        copy.gamma = take(hidden)
        copy.beta = take(hidden)
        copy.w2 = take(hidden)
        copy.b2 = take(1)[0]
        return copy
    }
}
