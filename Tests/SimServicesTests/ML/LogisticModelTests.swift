import XCTest
@testable import SimKernel
@testable import SimServices

/// The logistic model's numerics against values worked out by hand.
final class LogisticModelTests: XCTestCase {
    func testTheSigmoidOfZeroIsOneHalfAndItIsSymmetric() {
        XCTAssertEqual(LogisticModel.sigmoid(0), 0.5)
        for z: Float in [0.5, 1, 3, 7] { XCTAssertEqual(LogisticModel.sigmoid(z) + LogisticModel.sigmoid(-z), 1, accuracy: 1e-6, "\(z)") }
        XCTAssertEqual(LogisticModel.sigmoid(Float(log(3.0))), 0.75, accuracy: 1e-6)  // 1 / (1 + 1/3)
    }

    func testTheScoreIsTheDotProductPlusTheBias() {
        XCTAssertEqual(LogisticModel.score([2, -1, 0.5], [3, 4]), 2 * 3 - 4 + 0.5)
    }

    func testTheLossOfTheZeroModelIsLn2() {
        let examples = [Example(features: [1, 2], label: 1), Example(features: [-3, 0], label: 0)]
        XCTAssertEqual(LogisticModel.loss([0, 0, 0], examples), Float(log(2.0)), accuracy: 1e-6)
    }

    func testTheLossOfAConfidentWrongAnswerIsClampedAt23Ln2() {
        // p = sigmoid(100) rounds to 1 in Float; the clamp 1 - 1e-7 rounds to 1 - 2^-23 in Float,
        // so the loss is -ln(2^-23) = 23 ln 2 = 15.942 rather than infinite.
        let loss = LogisticModel.loss([100, 0], [Example(features: [1], label: 0)])
        XCTAssertEqual(loss, Float(23 * log(2.0)), accuracy: 1e-4)
    }

    func testAccuracyCountsAScoreOfZeroAsClassZero() {
        let examples = [Example(features: [1], label: 1), Example(features: [-1], label: 0), Example(features: [0], label: 0), Example(features: [0], label: 1)]
        XCTAssertEqual(LogisticModel.accuracy([1, 0], examples), 0.75)
    }

    func testNoExamplesHaveZeroLossAndZeroAccuracy() {
        XCTAssertEqual(LogisticModel.loss([1, 2], []), 0)
        XCTAssertEqual(LogisticModel.accuracy([1, 2], []), 0)
    }

    func testTheScaledHalfGradientSumAtZeroParametersIsScaleTimesHalfMinusLabelTimesX() {
        let batch = [Example(features: [2, -1], label: 1), Example(features: [4, 3], label: 0)]
        // 8 x ((0.5 - 1) x [2, -1, 1] + 0.5 x [4, 3, 1]) = 8 x [1, 2, 0] = [8, 16, 0]: exact in binary16.
        XCTAssertEqual(LogisticModel.scaledHalfGradientSum([0, 0, 0], batch, scale: 8), [8, 16, 0])
    }

    func testTheScaledHalfGradientSumOverflowsAtALargeScale() {
        // 0.5 x 2^17 x 1 = 65536 > 65504: infinity in binary16.
        let sum = LogisticModel.scaledHalfGradientSum([0, 0], [Example(features: [1], label: 0)], scale: 131_072)
        XCTAssertTrue(sum[0].isInfinite)
    }

    func testTheMeanGradientIsZeroAtAPerfectlyBalancedPoint() {
        // Two mirrored examples with opposite labels at the zero model: the errors cancel on x, not on the bias.
        let batch = [Example(features: [1], label: 1), Example(features: [-1], label: 0)]
        XCTAssertEqual(LogisticModel.meanGradient([0, 0], batch), [-0.5, 0])
    }
}

/// The warm-up and cosine schedule of scenario 05's trainers.
final class LearningRateScheduleTests: XCTestCase {
    let schedule = LearningRateSchedule(base: 1, warmupSteps: 4, totalSteps: 14)

    func testWarmUpIsLinearAndReachesTheBaseAtItsLastStep() {
        XCTAssertEqual((0 ..< 4).map { schedule.rate(step: $0) }, [0.25, 0.5, 0.75, 1])
    }

    func testTheCosineStartsAtTheBaseAfterWarmUp() {
        XCTAssertEqual(schedule.rate(step: 4), 1, accuracy: 1e-6)
    }

    func testHalfWayThroughTheDecayTheRateIsMidwayToTheFloor() {
        // progress 0.5: cosine term 0.5, rate 0.1 + 0.9 x 0.5 = 0.55.
        XCTAssertEqual(schedule.rate(step: 9), 0.55, accuracy: 1e-6)
    }

    func testTheRateEndsAtTheFloorAndStaysThere() {
        XCTAssertEqual(schedule.rate(step: 14), 0.1, accuracy: 1e-6)
        XCTAssertEqual(schedule.rate(step: 100), 0.1, accuracy: 1e-6)
    }

    func testTheDecayNeverRises() {
        for step in 4 ..< 20 { XCTAssertLessThanOrEqual(schedule.rate(step: step + 1), schedule.rate(step: step), "step \(step)") }
    }

    func testWithoutWarmUpTheFirstStepHasTheBaseRate() {
        XCTAssertEqual(LearningRateSchedule(base: 0.5, warmupSteps: 0, totalSteps: 10).rate(step: 0), 0.5)
    }
}

/// The synthetic data set every training scenario learns.
final class SyntheticDatasetTests: XCTestCase {
    func testTheSameSeedGivesTheSameRowsAndAnotherSeedOthers() {
        let a = SyntheticDataset(seed: 3, featureCount: 4, trainCount: 20, testCount: 5)
        let b = SyntheticDataset(seed: 3, featureCount: 4, trainCount: 20, testCount: 5)
        let c = SyntheticDataset(seed: 4, featureCount: 4, trainCount: 20, testCount: 5)
        XCTAssertEqual(a.train, b.train)
        XCTAssertEqual(a.test, b.test)
        XCTAssertNotEqual(a.train, c.train)
    }

    func testItHasTheAskedShapeAndBinaryLabels() {
        let data = SyntheticDataset(seed: 1, featureCount: 6, trainCount: 30, testCount: 7)
        XCTAssertEqual(data.train.count, 30)
        XCTAssertEqual(data.test.count, 7)
        XCTAssertEqual(data.trueWeights.count, 7)
        XCTAssertTrue((data.train + data.test).allSatisfy { $0.features.count == 6 && ($0.label == 0 || $0.label == 1) })
    }

    func testBothClassesAreWellRepresented() {
        let data = SyntheticDataset(seed: 7, featureCount: 8)
        let positives = data.train.filter { $0.label == 1 }.count
        // A fair split of 2048 rows stays within 30-70 % with probability 1 - 1e-70 (Hoeffding); the
        // hidden bias moves the share, so only a gross imbalance counts.
        XCTAssertGreaterThan(positives, 2048 * 3 / 10)
        XCTAssertLessThan(positives, 2048 * 7 / 10)
    }

    func testAWorkersShardOrderIsAPermutationOfItsStride() {
        let data = SyntheticDataset(seed: 7, featureCount: 8)
        let order = data.shardOrder(worker: 1, workers: 3, epoch: 2, seed: 42)
        XCTAssertEqual(order.sorted(), Array(stride(from: 1, to: data.train.count, by: 3)))
        XCTAssertNotEqual(order, data.shardOrder(worker: 1, workers: 3, epoch: 3, seed: 42))
    }

    func testTheCacheReturnsTheSameRowsAsAFreshDataset() {
        XCTAssertEqual(SyntheticDataset.cached(seed: 11, featureCount: 3).train, SyntheticDataset(seed: 11, featureCount: 3).train)
    }
}

/// Checksums and their printed form.
final class ChecksumFormatTests: XCTestCase {
    func testTheCRCOfNothingIsZero() { XCTAssertEqual(crc32([]), 0) }

    func testACRCCanBeComputedInPieces() {
        let bytes = Array("the quick brown fox".utf8)
        XCTAssertEqual(crc32(Array(bytes[7...]), initial: crc32(Array(bytes[..<7]))), crc32(bytes))
    }

    func testAOneBitChangeChangesTheCRC() {
        var bytes = Array("checkpoint".utf8)
        let before = crc32(bytes)
        bytes[3] ^= 0x10
        XCTAssertNotEqual(crc32(bytes), before)
    }

    func testHexStringsAreZeroPaddedToEightDigits() {
        XCTAssertEqual(hexString(0x1F), "0x0000001f")
        XCTAssertEqual(hexString(0xCBF4_3926), "0xcbf43926")
    }

    func testHexBytesRoundTripAndRejectOddOrForeignDigits() {
        XCTAssertEqual(hexBytes([0, 0xAB, 0x7F]), "00ab7f")
        XCTAssertEqual(bytesFromHex("00AB7f"), [0, 0xAB, 0x7F])
        XCTAssertNil(bytesFromHex("abc"))
        XCTAssertNil(bytesFromHex("zz"))
    }
}

/// Checkpoints of scenario 05: what a decode refuses.
final class CheckpointDecodeTests: XCTestCase {
    let checkpoint = Checkpoint(step: 12, workerClocks: [12, 11, 12], parameters: [0.5, -2, 0.125])

    func testTheEncodingRoundTripsBitForBit() throws {
        XCTAssertEqual(try Checkpoint.decode(checkpoint.encoded()), checkpoint)
    }

    func testATruncatedCheckpointIsRefused() {
        XCTAssertThrowsError(try Checkpoint.decode(Array(checkpoint.encoded().dropLast(3))))
    }

    func testAFlippedParameterBitIsRefused() {
        var bytes = checkpoint.encoded()
        bytes[bytes.count - 6] ^= 0x01
        XCTAssertThrowsError(try Checkpoint.decode(bytes))
    }

    func testNothingIsNoCheckpoint() {
        XCTAssertThrowsError(try Checkpoint.decode([]))
    }

    func testTwoCheckpointsOfDifferentStepsEncodeDifferently() {
        XCTAssertNotEqual(checkpoint.encoded(), Checkpoint(step: 13, workerClocks: [12, 11, 12], parameters: [0.5, -2, 0.125]).encoded())
    }
}
