import XCTest
@testable import SimServices

/// Half precision and loss scaling against values worked out by hand from IEEE 754 binary16 (1 sign
/// bit, 5 exponent bits with bias 15, 10 fraction bits; round to nearest, ties to even) and from
/// PyTorch's GradScaler rules (halve on inf/NaN and skip, double after `growth_interval` clean steps).
final class MixedPrecisionReferenceTests: XCTestCase {
    func testOneTenthRoundsToTheNearestHalf() {
        // 0.1 = 1.6 * 2^-4; 0.6 * 1024 = 614.4 -> 614: (1024 + 614) / 2^14 = 0.0999755859375.
        XCTAssertEqual(Double(Float16(0.1)), 0.0999755859375)
    }

    func testOneThirdRoundsDown() {
        // 1/3 = 1.333... * 2^-2; 0.333... * 1024 = 341.33 -> 341: 1365 / 4096.
        XCTAssertEqual(Double(Float16(Float(1.0 / 3.0))), 1365.0 / 4096.0)
    }

    func testTheLargestFiniteHalfIs65504() {
        XCTAssertEqual(Float(Float16.greatestFiniteMagnitude), 65504)  // (2 - 2^-10) * 2^15
    }

    func testHalfWayAboveTheLargestFiniteRoundsToInfinity() {
        // 65520 is half-way between 65504 and 65536 (= 2^16, not representable): ties to even
        // picks the even significand, which overflows.
        XCTAssertTrue(Float16(Float(65520)).isInfinite)
        XCTAssertEqual(Float(Float16(Float(65519))), 65504)
    }

    func testTheSmallestSubnormalIsTwoToTheMinus24() {
        XCTAssertEqual(Double(Float16.leastNonzeroMagnitude), 0x1p-24)
        XCTAssertEqual(Float16(Float(0x1p-26)), 0)  // a quarter of it rounds to zero
    }

    func testIntegersAbove2048AreNotAllRepresentable() {
        XCTAssertEqual(Float(Float16(Float(2049))), 2048)  // ties to even
        XCTAssertEqual(Float(Float16(Float(2051))), 2052)
    }

    func testHalfAdditionSaturatesAtInfinity() {
        let big = Float16(60000)
        XCTAssertTrue((big + big).isInfinite)
    }

    func testTheScalerHalvesAndSkipsOnOverflow() {
        var scaler = LossScaler(initialScale: 65536, growthInterval: 3)
        XCTAssertFalse(scaler.update(foundNonFinite: true))
        XCTAssertEqual(scaler.scale, 32768)
        XCTAssertEqual(scaler.skippedSteps, 1)
    }

    func testTheScalerDoublesAfterTheGrowthIntervalOfCleanSteps() {
        var scaler = LossScaler(initialScale: 1024, growthInterval: 3)
        for _ in 0 ..< 3 { XCTAssertTrue(scaler.update(foundNonFinite: false)) }
        XCTAssertEqual(scaler.scale, 2048)
    }

    func testAnOverflowRestartsTheCleanStepCount() {
        var scaler = LossScaler(initialScale: 1024, growthInterval: 3)
        _ = scaler.update(foundNonFinite: false)
        _ = scaler.update(foundNonFinite: false)
        _ = scaler.update(foundNonFinite: true)
        _ = scaler.update(foundNonFinite: false)
        _ = scaler.update(foundNonFinite: false)
        XCTAssertEqual(scaler.scale, 512)  // 1024 halved, not yet doubled again
    }

    func testAccumulationDividesOnceByScaleAndItemCount() {
        // Two micro-batches of 4 and 2 items, scale 8: sums 16 and 8 -> (24) / (8 * 6) = 0.5.
        var accumulator = GradientAccumulator(parameterCount: 1)
        accumulator.add([Float16(16)], items: 4)
        accumulator.add([Float16(8)], items: 2)
        XCTAssertEqual(accumulator.gradient(scale: 8), [0.5])
    }

    func testAccumulationInFP32KeepsWhatFP16WouldLose() {
        // 4096 micro-batch sums of 16: 65536 in fp32, beyond fp16's range.
        var accumulator = GradientAccumulator(parameterCount: 1)
        for _ in 0 ..< 4096 { accumulator.add([Float16(16)], items: 1) }
        XCTAssertEqual(accumulator.sum, [65536])
        XCTAssertFalse(accumulator.foundNonFinite)
        XCTAssertEqual(accumulator.gradient(scale: 1), [16])
    }

    func testANonFiniteMicroBatchMarksTheAccumulation() {
        var accumulator = GradientAccumulator(parameterCount: 2)
        accumulator.add([Float16(1), Float16.infinity], items: 1)
        XCTAssertTrue(accumulator.foundNonFinite)
        accumulator.add([Float16(1), Float16(1)], items: 1)
        XCTAssertTrue(accumulator.foundNonFinite, "a later clean micro-batch does not clear it")
    }

    /// M2: four micro-batch sums of 20000 each are 80000 together: past 65504 in fp16, 80000 in fp32.
    func testAccumulatingInFP16OverflowsWhereFP32DoesNot() {
        var half = GradientAccumulator(parameterCount: 1, halfPrecision: true)
        var full = GradientAccumulator(parameterCount: 1)
        for _ in 0 ..< 4 {
            half.add([20000], items: 8)
            full.add([20000], items: 8)
        }
        XCTAssertTrue(half.foundNonFinite)
        XCTAssertFalse(full.foundNonFinite)
        XCTAssertEqual(full.gradient(scale: 1000), [2.5])  // 80000 / (1000 x 32)
    }

    /// M2 without overflow still rounds: 2049 + 1 is 2050 in fp32, 2048 + 2 = 2050 exactly but
    /// 2049 is not a binary16 value (spacing 2 above 2048), so the fp16 total differs.
    func testAccumulatingInFP16RoundsWhatItKeeps() {
        var half = GradientAccumulator(parameterCount: 1, halfPrecision: true)
        for _ in 0 ..< 3 { half.add([1025], items: 1) }  // 1025 + 1025 = 2050; + 1025 = 3075 -> 3076 in fp16
        XCTAssertEqual(half.sum, [3076])
        var full = GradientAccumulator(parameterCount: 1)
        for _ in 0 ..< 3 { full.add([1025], items: 1) }
        XCTAssertEqual(full.sum, [3075])
    }

    func testNaNIsCaughtAsNonFinite() {
        var accumulator = GradientAccumulator(parameterCount: 1)
        accumulator.add([Float16.nan], items: 1)
        XCTAssertTrue(accumulator.foundNonFinite)
    }
}
