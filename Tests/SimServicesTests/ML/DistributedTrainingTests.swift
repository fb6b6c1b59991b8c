import XCTest
@testable import SimKernel
@testable import SimServices

/// The pieces of scenario 07's elastic data-parallel training, each against values worked out by
/// hand or against a plain computation: tensor splits, the model-parallel layout (and A4's
/// boundary defect), the compressor with and without error feedback, the ring's schedule, the
/// distributed sampler (and A3's rank-seeded one), the fp32 gradient.
final class TensorSplitTests: XCTestCase {
    func testRangesOf17In3PartsPutTheRemainderFirst() {
        XCTAssertEqual(TensorSplit.ranges(count: 17, parts: 3), [0 ..< 6, 6 ..< 12, 12 ..< 17])
    }

    func testRangesCoverEveryElementOnceWithSizesWithinOne() {
        for count in 0 ... 40 {
            for parts in 1 ... 9 {
                let ranges = TensorSplit.ranges(count: count, parts: parts)
                XCTAssertEqual(ranges.count, parts)
                XCTAssertEqual(ranges.flatMap { Array($0) }, Array(0 ..< count), "\(count) in \(parts)")
                let sizes = ranges.map(\.count)
                XCTAssertLessThanOrEqual(sizes.max()! - sizes.min()!, 1, "\(count) in \(parts): \(sizes)")
            }
        }
    }

    func testMorePartsThanElementsGivesEmptyTrailingRanges() {
        XCTAssertEqual(TensorSplit.ranges(count: 2, parts: 4), [0 ..< 1, 1 ..< 2, 2 ..< 2, 2 ..< 2])
    }
}

final class ModelParallelLayoutTests: XCTestCase {
    func testEachRankHoldsItsSliceOfEveryLayer() {
        let layout = ModelParallelLayout(layers: [8, 1], parts: 3)
        // The weights 8 = 3 + 3 + 2; the bias goes to rank 0.
        XCTAssertEqual(layout.ranges(rank: 0), [0 ..< 3, 8 ..< 9])
        XCTAssertEqual(layout.ranges(rank: 1), [3 ..< 6, 9 ..< 9])
        XCTAssertEqual(layout.ranges(rank: 2), [6 ..< 8, 9 ..< 9])
    }

    func testSplitThenMergeIsTheIdentityForManyShapes() {
        for layers in [[8, 1], [16, 1], [5, 7, 3], [1], [4, 4, 4, 4]] {
            let count = layers.reduce(0, +)
            let tensor = (0 ..< count).map { Float($0) * 0.5 - 3 }
            for parts in 1 ... 6 {
                let layout = ModelParallelLayout(layers: layers, parts: parts)
                let shards = (0 ..< parts).map { layout.split(tensor, rank: $0) }
                XCTAssertEqual(layout.merge(shards), tensor, "\(layers) in \(parts)")
                XCTAssertEqual(shards.map(\.count).reduce(0, +), count)
            }
        }
    }

    func testTheBoundaryDefectLosesTheBiasOfTheScenariosModel() {
        let layout = ModelParallelLayout(layers: [8, 1], parts: 3, boundaryDefect: true)
        let tensor: [Float] = [1, 2, 3, 4, 5, 6, 7, 8, 9]
        let merged = layout.merge((0 ..< 3).map { layout.split(tensor, rank: $0) })
        // 8 / 3 = 2 per rank: weights 6 and 7 (indices) and the bias (1 / 3 = 0 per rank) are nobody's.
        XCTAssertEqual(merged, [1, 2, 3, 4, 5, 6, 0, 0, 0])
    }

    func testTheBoundaryDefectLosesExactlyEachLayersRemainder() {
        for (layers, parts) in [([8, 1], 3), ([10, 3, 7], 4), ([6, 6], 3)] {
            let layout = ModelParallelLayout(layers: layers, parts: parts, boundaryDefect: true)
            let tensor = [Float](repeating: 1, count: layout.parameterCount)
            let merged = layout.merge((0 ..< parts).map { layout.split(tensor, rank: $0) })!
            XCTAssertEqual(merged.filter { $0 == 0 }.count, layers.map { $0 % parts }.reduce(0, +), "\(layers) in \(parts)")
        }
    }

    func testMergeRefusesShardsThatDoNotFitTheLayout() {
        let layout = ModelParallelLayout(layers: [8, 1], parts: 3)
        XCTAssertNil(layout.merge([[1, 2, 3, 4], [1, 2, 3]]))  // two shards for three parts
        XCTAssertNil(layout.merge([[1, 2, 3], [1, 2, 3], [1, 2]]))  // rank 0 needs 4 values
    }
}

final class GradientCompressorTests: XCTestCase {
    func testOnlyCoordinatesAtOrAboveTheThresholdAreSent() {
        var compressor = GradientCompressor(parameterCount: 4, threshold: 0.5)
        XCTAssertEqual(compressor.compress([0.5, -0.75, 0.25, -0.125]), [0.5, -0.75, 0, 0])
        XCTAssertEqual(compressor.residual, [0, 0, 0.25, -0.125])
    }

    func testErrorFeedbackSendsASmallSteadyGradientOnceItAddsUp() {
        var compressor = GradientCompressor(parameterCount: 1, threshold: 0.3)
        // 0.125, 0.25, 0.375 >= 0.3: sent on the third step, all of it (binary fractions: exact).
        XCTAssertEqual((0 ..< 4).map { _ in compressor.compress([0.125])[0] }, [0, 0, 0.375, 0])
        XCTAssertEqual(compressor.residual, [0.125])
    }

    func testWithoutErrorFeedbackASmallGradientIsNeverSent() {
        var compressor = GradientCompressor(parameterCount: 1, threshold: 0.3, errorFeedback: false)
        XCTAssertEqual((0 ..< 10).map { _ in compressor.compress([0.125])[0] }, [Float](repeating: 0, count: 10))
        XCTAssertEqual(compressor.residual, [0])
    }

    func testErrorFeedbackConservesTheGradientsSum() {
        var random = SimRandom(rootSeed: 5, stream: "gradients")
        var compressor = GradientCompressor(parameterCount: 6, threshold: 0.4)
        var sent = [Double](repeating: 0, count: 6), total = [Double](repeating: 0, count: 6)
        for _ in 0 ..< 200 {
            // Multiples of 1/64 within (-1, 1): every partial sum is exact in Float.
            let gradient = (0 ..< 6).map { _ in Float(random.uniform(-63 ... 63)) / 64 }
            for (j, value) in compressor.compress(gradient).enumerated() { sent[j] += Double(value) }
            for (j, value) in gradient.enumerated() { total[j] += Double(value) }
        }
        for j in 0 ..< 6 { XCTAssertEqual(sent[j] + Double(compressor.residual[j]), total[j], "coordinate \(j)") }
    }

    func testResetForgetsTheResidual() {
        var compressor = GradientCompressor(parameterCount: 2, threshold: 1)
        _ = compressor.compress([0.5, 0.25])
        compressor.reset()
        XCTAssertEqual(compressor.residual, [0, 0])
        XCTAssertEqual(compressor.compress([0.75, 0]), [0, 0])  // 0.75 alone, not 1.25
    }

    func testAZeroThresholdSendsEverything() {
        var compressor = GradientCompressor(parameterCount: 3, threshold: 0)
        XCTAssertEqual(compressor.compress([0.001, -0.002, 0]), [0.001, -0.002, 0])
    }
}

final class RingScheduleTests: XCTestCase {
    func testTheRingSumEqualsThePlainSumOnEveryRank() {
        var random = SimRandom(rootSeed: 11, stream: "ring")
        for world in 2 ... 7 {
            for count in [1, 5, 9, 17] {
                // Small integers: every order of summation is exact, so the comparison is exact.
                let vectors = (0 ..< world).map { _ in (0 ..< count).map { _ in Float(random.uniform(-50 ... 50)) } }
                let plain = (0 ..< count).map { j in vectors.reduce(Float(0)) { $0 + $1[j] } }
                let ring = RingSchedule.allReduceSum(vectors)
                for rank in 0 ..< world { XCTAssertEqual(ring[rank], plain, "world \(world), count \(count), rank \(rank)") }
            }
        }
    }

    func testEachRankReceivesWhatItsPredecessorSends() {
        for world in 2 ... 6 {
            for phase in 0 ..< RingSchedule.phases(world: world) {
                for rank in 0 ..< world {
                    XCTAssertEqual(RingSchedule.receiveChunk(rank: rank, phase: phase, world: world),
                                   RingSchedule.sendChunk(rank: (rank + world - 1) % world, phase: phase, world: world))
                }
            }
        }
    }

    func testAfterReduceScatterRankRSendsTheCompleteChunkRPlusOne() {
        // The first all-gather phase sends the chunk the rank completed: (r + 1) mod world.
        for world in 2 ... 6 {
            for rank in 0 ..< world { XCTAssertEqual(RingSchedule.sendChunk(rank: rank, phase: world - 1, world: world), (rank + 1) % world) }
        }
    }

    func testARankSendsEveryChunkOnceInEachHalf() {
        for world in 2 ... 6 {
            for rank in 0 ..< world {
                let scatter = (0 ..< world - 1).map { RingSchedule.sendChunk(rank: rank, phase: $0, world: world) }
                let gather = (world - 1 ..< 2 * (world - 1)).map { RingSchedule.sendChunk(rank: rank, phase: $0, world: world) }
                XCTAssertEqual(Set(scatter).count, world - 1)
                XCTAssertEqual(Set(gather).count, world - 1)
                XCTAssertFalse(scatter.contains((rank + 1) % world), "in reduce-scatter rank \(rank) never sends the chunk it completes")
            }
        }
    }

    func testASingleRankRingIsItsOwnSum() {
        XCTAssertEqual(RingSchedule.allReduceSum([[1, 2, 3]]), [[1, 2, 3]])
        XCTAssertEqual(RingSchedule.phases(world: 1), 0)
    }
}

final class DistributedSamplerTests: XCTestCase {
    func testTheRanksPartsPartitionTheRowsInEveryEpoch() {
        for world in [1, 2, 3, 4] {
            for epoch in 0 ..< 3 {
                let parts = (0 ..< world).map { DistributedSampler(rows: 96, seed: 42, world: world, rank: $0, batch: 8).part(epoch: epoch) }
                XCTAssertEqual(parts.flatMap { $0 }.sorted(), Array(0 ..< 96), "world \(world), epoch \(epoch)")
            }
        }
    }

    func testEveryEpochHasANewOrderAndTheSameSeedTheSameOne() {
        let sampler = DistributedSampler(rows: 64, seed: 42, world: 2, rank: 1, batch: 4)
        XCTAssertNotEqual(sampler.part(epoch: 0), sampler.part(epoch: 1))
        XCTAssertEqual(sampler.part(epoch: 3), DistributedSampler(rows: 64, seed: 42, world: 2, rank: 1, batch: 4).part(epoch: 3))
        XCTAssertNotEqual(sampler.part(epoch: 0), DistributedSampler(rows: 64, seed: 43, world: 2, rank: 1, batch: 4).part(epoch: 0))
    }

    func testStepsWalkTheEpochInBatchesAndWrapIntoTheNext() {
        let sampler = DistributedSampler(rows: 100, seed: 7, world: 3, rank: 2, batch: 8)
        XCTAssertEqual(sampler.stepsPerEpoch, 4)  // 100 / 24, the incomplete global batch dropped
        let part = sampler.part(epoch: 0)
        XCTAssertEqual(sampler.batch(step: 1).rows, Array(part[8 ..< 16]))
        XCTAssertEqual(sampler.batch(step: 1).epoch, 0)
        XCTAssertEqual(sampler.batch(step: 5).epoch, 1)
        XCTAssertEqual(sampler.batch(step: 5).rows, Array(sampler.part(epoch: 1)[8 ..< 16]))
    }

    func testRankSeededPartsOverlap() {
        // A3: two ranks each take the first half of their own permutation of 64 rows. Disjoint
        // halves by chance would have probability 1 / C(64, 32), about 5e-19.
        let parts = (0 ..< 2).map { DistributedSampler(rows: 64, seed: 42, world: 2, rank: $0, batch: 4, rankSeeded: true).part(epoch: 0) }
        XCTAssertEqual(parts[0].count, 32)
        XCTAssertFalse(Set(parts[0]).isDisjoint(with: parts[1]))
    }
}

final class LogisticGradientTests: XCTestCase {
    func testAtZeroParametersTheGradientIsTheMeanOfHalfMinusLabelTimesX() {
        let batch = [Example(features: [2, -1], label: 1), Example(features: [4, 3], label: 0)]
        // p = 0.5 everywhere: ((0.5 - 1) * [2, -1, 1] + (0.5 - 0) * [4, 3, 1]) / 2 = [0.5, 1, 0].
        XCTAssertEqual(LogisticModel.meanGradient([0, 0, 0], batch), [0.5, 1, 0])
    }

    func testTheGradientMatchesCentralDifferencesOfTheLoss() {
        let dataset = SyntheticDataset.cached(seed: 7, featureCount: 8)
        let batch = Array(dataset.train.prefix(32))
        let parameters: [Float] = [0.3, -0.2, 0.1, 0.5, -0.4, 0.2, 0, 0.1, -0.05]
        let gradient = LogisticModel.meanGradient(parameters, batch)
        for j in parameters.indices {
            var plus = parameters, minus = parameters
            plus[j] += 1e-2
            minus[j] -= 1e-2
            let numeric = (LogisticModel.loss(plus, batch) - LogisticModel.loss(minus, batch)) / 2e-2
            XCTAssertEqual(gradient[j], numeric, accuracy: 2e-3, "coordinate \(j)")
        }
    }
}

/// More of the elastic job's pieces: the ring's schedule for three ranks written out, the edges
/// of the splits, the sampler for one rank, the compressor's handling of signs.
final class DistributedEdgeCaseTests: XCTestCase {
    func testTheScheduleOfThreeRanksAsWrittenOutByHand() {
        // Reduce-scatter: rank r sends chunk r, then r - 1; all-gather: r + 1, then r.
        let table = (0 ..< 3).map { rank in (0 ..< 4).map { RingSchedule.sendChunk(rank: rank, phase: $0, world: 3) } }
        XCTAssertEqual(table, [[0, 2, 1, 0], [1, 0, 2, 1], [2, 1, 0, 2]])
    }

    func testTwoRanksSwapHalvesOnceEachWay() {
        XCTAssertEqual(RingSchedule.phases(world: 2), 2)
        XCTAssertEqual(RingSchedule.allReduceSum([[1, 2, 3], [10, 20, 30]]), [[11, 22, 33], [11, 22, 33]])
    }

    func testOnePartIsTheWholeTensor() {
        XCTAssertEqual(TensorSplit.ranges(count: 9, parts: 1), [0 ..< 9])
        XCTAssertEqual(ModelParallelLayout(layers: [8, 1], parts: 1).ranges(rank: 0), [0 ..< 8, 8 ..< 9])
    }

    func testTheLayoutsParameterCountIsTheSumOfItsLayers() {
        XCTAssertEqual(ModelParallelLayout(layers: [5, 7, 3], parts: 2).parameterCount, 15)
    }

    func testASingleRankSamplesEveryRowEachEpoch() {
        let sampler = DistributedSampler(rows: 40, seed: 1, world: 1, rank: 0, batch: 10)
        XCTAssertEqual(sampler.stepsPerEpoch, 4)
        XCTAssertEqual((0 ..< 4).flatMap { sampler.batch(step: $0).rows }.sorted(), Array(0 ..< 40))
    }

    func testEveryBatchHasTheAskedSize() {
        let sampler = DistributedSampler(rows: 2048, seed: 42, world: 3, rank: 1, batch: 16)
        for step in [0, 1, 41, 42, 100] { XCTAssertEqual(sampler.batch(step: step).rows.count, 16, "step \(step)") }
    }

    func testTheThresholdIsOnTheMagnitudeSoNegativesAreSentToo() {
        var compressor = GradientCompressor(parameterCount: 2, threshold: 0.5)
        XCTAssertEqual(compressor.compress([-0.75, -0.25]), [-0.75, 0])
        XCTAssertEqual(compressor.residual, [0, -0.25])
    }

    func testTheRingSumOfOneHotVectorsPutsEachRanksValueInItsPlace() {
        // Rank r contributes r + 1 at coordinate r only: every rank ends with [1, 2, 3, 4, 5].
        let vectors = (0 ..< 5).map { rank in (0 ..< 5).map { $0 == rank ? Float(rank + 1) : 0 } }
        XCTAssertEqual(Set(RingSchedule.allReduceSum(vectors)), [[1, 2, 3, 4, 5]])
    }

    func testTheMeanOfTheRingIsTheSumOverTheWorld() {
        // What a worker applies: the ring's sum divided by the generation's size (A8 divides by another).
        let sums = RingSchedule.allReduceSum([[2, 4], [4, 8], [6, 0], [0, 4]])
        XCTAssertEqual(sums[2].map { $0 / 4 }, [3, 4])
    }

    func testOppositeResidualsCancelInsteadOfBeingSent() {
        var compressor = GradientCompressor(parameterCount: 1, threshold: 0.5)
        XCTAssertEqual(compressor.compress([0.375])[0], 0)
        XCTAssertEqual(compressor.compress([-0.375])[0], 0)
        XCTAssertEqual(compressor.residual, [0])
    }
}
