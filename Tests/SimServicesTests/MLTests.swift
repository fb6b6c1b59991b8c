import XCTest
@testable import SimKernel
@testable import SimServices

final class MLTests: XCTestCase {
    func testCRC32MatchesTheStandardCheckValue() {
        XCTAssertEqual(crc32(Array("123456789".utf8)), 0xCBF4_3926)
        XCTAssertEqual(crc32([]), 0)
    }

    /// The slicing-by-8 loop gives the bit-at-a-time definition's value (the reflected polynomial
    /// 0xEDB88320, one bit a step, written here without tables) for every length 0-100, so every
    /// split between the 8-byte steps and the tail, and for chained initial values.
    func testCRC32GivesTheBitwiseDefinitionsValueForDrawnBytesLengthsAndInitialValues() {
        func bitwise(_ bytes: [UInt8], initial: UInt32) -> UInt32 {
            var crc = ~initial
            for byte in bytes {
                crc ^= UInt32(byte)
                for _ in 0 ..< 8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
            }
            return ~crc
        }
        var random = SimRandom(rootSeed: 5, stream: "crc32")
        for length in 0 ... 100 {
            for _ in 0 ..< 5 {
                let bytes = (0 ..< length).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                let initial = [0, UInt32(truncatingIfNeeded: random.next())][random.uniform(0 ..< 2)]
                XCTAssertEqual(crc32(bytes, initial: initial), bitwise(bytes, initial: initial), "length \(length), initial \(initial)")
            }
        }
        // Chaining: the checksum of a whole is the checksum of its tail seeded with its head's.
        let whole = (0 ..< 77).map { UInt8($0 * 7 & 0xFF) }
        XCTAssertEqual(crc32(Array(whole[13...]), initial: crc32(Array(whole[..<13]))), crc32(whole))
    }

    func testCheckpointRoundTripsAndEveryCorruptionIsCaught() throws {
        let checkpoint = Checkpoint(step: 20, workerClocks: [20, 19, 18], parameters: [0.5, -1.25, 3, 0, 1e-8])
        let bytes = checkpoint.encoded()
        XCTAssertEqual(try Checkpoint.decode(bytes), checkpoint)
        // Flip every single bit in turn: each one must be rejected.
        for bit in 0 ..< bytes.count * 8 {
            var damaged = bytes
            damaged[bit / 8] ^= UInt8(1 << (bit % 8))
            XCTAssertThrowsError(try Checkpoint.decode(damaged), "bit \(bit) flipped and still loaded")
        }
        XCTAssertThrowsError(try Checkpoint.decode(Array(bytes.prefix(10)))) { XCTAssertEqual($0 as? Checkpoint.LoadError, .tooShort(10)) }
        var zeroed = bytes
        for i in 0 ..< 32 { zeroed[i] = 0 }
        XCTAssertThrowsError(try Checkpoint.decode(zeroed)) { XCTAssertEqual($0 as? Checkpoint.LoadError, .badMagic) }
    }

    func testLossScalerSkipsBacksOffAndGrows() {
        var scaler = LossScaler(initialScale: 65536, growthInterval: 3)
        XCTAssertFalse(scaler.update(foundNonFinite: true))
        XCTAssertEqual(scaler.scale, 32768)
        XCTAssertTrue(scaler.update(foundNonFinite: false))
        XCTAssertTrue(scaler.update(foundNonFinite: false))
        XCTAssertFalse(scaler.update(foundNonFinite: true), "the clean-step counter resets on overflow")
        XCTAssertEqual(scaler.scale, 16384)
        for _ in 0 ..< 3 { XCTAssertTrue(scaler.update(foundNonFinite: false)) }
        XCTAssertEqual(scaler.scale, 32768, "doubles after growthInterval clean steps")
        XCTAssertEqual(scaler.skippedSteps, 2)
    }

    func testFloat16OverflowIsDetectedAtLargeScales() {
        let parameters = [Float](repeating: 0, count: 9)
        let batch = (0 ..< 8).map { i in Example(features: [Float](repeating: 3, count: 8), label: Float(i % 2 == 0 ? 1 : 0) * 0) }
        var accumulator = GradientAccumulator(parameterCount: 9)
        accumulator.add(LogisticModel.scaledHalfGradientSum(parameters, batch, scale: 65536), items: 8)
        XCTAssertTrue(accumulator.foundNonFinite, "8 x 0.5 x 3 x 65536 exceeds Float16's 65504")
        var small = GradientAccumulator(parameterCount: 9)
        small.add(LogisticModel.scaledHalfGradientSum(parameters, batch, scale: 256), items: 8)
        XCTAssertFalse(small.foundNonFinite)
        // The unscaled mean gradient is exact: p = 0.5, y = 0, x = 3 -> 1.5 per weight, 0.5 bias.
        XCTAssertEqual(small.gradient(scale: 256), [Float](repeating: 1.5, count: 8) + [0.5])
    }

    func testAccumulationIsNormalisedOnceSoMicroBatchingDoesNotChangeTheGradient() {
        let dataset = SyntheticDataset(seed: 3, trainCount: 64, testCount: 10)
        let parameters: [Float] = (0 ..< 9).map { Float($0) * 0.05 - 0.2 }
        let examples = Array(dataset.train.prefix(32))
        var one = GradientAccumulator(parameterCount: 9)
        one.add(LogisticModel.scaledHalfGradientSum(parameters, examples, scale: 64), items: 32)
        var many = GradientAccumulator(parameterCount: 9)
        for start in stride(from: 0, to: 32, by: 4) {
            many.add(LogisticModel.scaledHalfGradientSum(parameters, Array(examples[start ..< start + 4]), scale: 64), items: 4)
        }
        for (a, b) in zip(one.gradient(scale: 64), many.gradient(scale: 64)) {
            XCTAssertEqual(a, b, accuracy: 0.02, "batch 32 x 1 vs 4 x 8")  // Float16 rounding only
        }
    }

    func testLearningRateWarmsUpThenDecays() {
        let schedule = LearningRateSchedule(base: 0.5, warmupSteps: 5, totalSteps: 40)
        XCTAssertEqual(schedule.rate(step: 0), 0.1, accuracy: 1e-6)
        XCTAssertEqual(schedule.rate(step: 4), 0.5, accuracy: 1e-6)
        XCTAssertEqual(schedule.rate(step: 5), 0.5, accuracy: 1e-6)
        XCTAssertEqual(schedule.rate(step: 40), 0.05, accuracy: 1e-6)
        let rates = (5 ... 40).map { schedule.rate(step: $0) }
        XCTAssertEqual(rates, rates.sorted(by: >), "monotone decay after warm-up")
    }

    func testDataOrderIsAFunctionOfSeedAndEpoch() {
        let dataset = SyntheticDataset(seed: 1, trainCount: 300, testCount: 10)
        let a = dataset.shardOrder(worker: 1, workers: 3, epoch: 0, seed: 9)
        XCTAssertEqual(a, dataset.shardOrder(worker: 1, workers: 3, epoch: 0, seed: 9))
        XCTAssertNotEqual(a, dataset.shardOrder(worker: 1, workers: 3, epoch: 1, seed: 9), "every epoch reshuffles")
        XCTAssertNotEqual(a, dataset.shardOrder(worker: 1, workers: 3, epoch: 0, seed: 10))
        XCTAssertEqual(a.sorted(), Array(stride(from: 1, to: 300, by: 3)), "a worker sees exactly its shard")
    }

    func testTheHiddenModelSeparatesTheDataWellButNotPerfectly() {
        let dataset = SyntheticDataset(seed: 7)
        let accuracy = LogisticModel.accuracy(dataset.trueWeights, dataset.test)
        XCTAssertGreaterThan(accuracy, 0.8)
        XCTAssertLessThan(accuracy, 0.97, "label noise leaves room: a checker can tell learning from memorising")
        XCTAssertEqual(LogisticModel.loss([Float](repeating: 0, count: 9), dataset.test), 0.6931, accuracy: 1e-3, "ln 2 at zero")
    }

    func testShardRangesPartitionTheParameters() {
        for shards in 1 ... 4 {
            let ranges = (0 ..< shards).map { shardRange(shard: $0, shards: shards, parameterCount: 9) }
            XCTAssertEqual(ranges.flatMap { Array($0) }, Array(0 ..< 9))
            XCTAssertLessThanOrEqual(ranges.map(\.count).max()! - ranges.map(\.count).min()!, 1)
        }
    }
}

final class SHA256Tests: XCTestCase {
    func testSHA256AndHMACMatchPublishedVectors() {
        XCTAssertEqual(SHA256.hex(SHA256.hash(Array("abc".utf8))), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex(SHA256.hash([])), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex(SHA256.hash(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        // RFC 4231 test case 2.
        XCTAssertEqual(SHA256.hex(SHA256.hmac(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8))),
                       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        XCTAssertTrue(SHA256.constantTimeEqual([1, 2], [1, 2]))
        XCTAssertFalse(SHA256.constantTimeEqual([1, 2], [1, 2, 3]))
    }

    /// The precomputed key schedule (`HMACKey`) against RFC 4231's vectors: a short key (case 1),
    /// a key longer than the block, hashed first (case 6), and one key used many times gives the
    /// same code every time (each use starts from the pads, not from the last message).
    func testAKeyedHMACMatchesRFC4231AndDoesNotCarryStateBetweenMessages() {
        let short = SHA256.HMACKey([UInt8](repeating: 0x0b, count: 20))
        XCTAssertEqual(SHA256.hex(short.mac(Array("Hi There".utf8))), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        let long = SHA256.HMACKey([UInt8](repeating: 0xaa, count: 131))
        XCTAssertEqual(SHA256.hex(long.mac(Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8))),
                       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
        let jefe = SHA256.HMACKey(Array("Jefe".utf8)), message = Array("what do ya want for nothing?".utf8)
        for _ in 0 ..< 3 { XCTAssertEqual(SHA256.hex(jefe.mac(message)), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843") }
    }

    /// RFC 2104's definition written out with one-shot hashes, no state kept between calls.
    func referenceHMAC(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var block = key.count > 64 ? SHA256.hash(key) : key
        block += [UInt8](repeating: 0, count: 64 - block.count)
        let inner = SHA256.hash(block.map { $0 ^ 0x36 } + message)
        return SHA256.hash(block.map { $0 ^ 0x5c } + inner)
    }

    /// Keys of every length around the block's 64 bytes (0, 63, 64, 65, 200 among them) and drawn
    /// messages: the precomputed schedule gives RFC 2104's code, each key reused for several
    /// messages in turn.
    func testAKeyedHMACIsRFC2104sForKeysOf0To70AndLongerBytes() {
        var random = SimRandom(rootSeed: 17, stream: "hmac-keys")
        for length in Array(0 ... 70) + [127, 128, 129, 200] {
            let key = (0 ..< length).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            let keyed = SHA256.HMACKey(key)
            for _ in 0 ..< 3 {
                let message = (0 ..< random.uniform(0 ..< 300)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                XCTAssertEqual(keyed.mac(message), referenceHMAC(key: key, message: message), "key of \(length) bytes, message of \(message.count)")
            }
        }
        XCTAssertFalse(SHA256.constantTimeEqual([1, 2], [1, 3]))
    }
}
