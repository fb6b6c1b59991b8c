import XCTest
@testable import SimKernel

final class RandomTests: XCTestCase {
    /// Reference outputs of Vigna's xoshiro256starstar.c with state {1, 2, 3, 4} (the same vector
    /// the rand_xoshiro crate tests against).
    func testXoshiroMatchesReferenceOutputs() {
        var generator = Xoshiro256StarStar(state: (1, 2, 3, 4))
        let expected: [UInt64] = [
            11520, 0, 1_509_978_240, 1_215_971_899_390_074_240, 1_216_172_134_540_287_360,
            607_988_272_756_665_600, 16_172_922_978_634_559_625, 8_476_171_486_693_032_832,
            10_595_114_339_597_558_777, 2_904_607_092_377_533_576,
        ]
        XCTAssertEqual((0 ..< 10).map { _ in generator.next() }, expected)
    }

    /// Reference outputs of splitmix64.c seeded with 1234567.
    func testSplitMixMatchesReferenceOutputs() {
        var generator = SplitMix64(seed: 1_234_567)
        let expected: [UInt64] = [
            6_457_827_717_110_365_317, 3_203_168_211_198_807_973, 9_817_491_932_198_370_423,
            4_593_380_528_125_082_431, 16_408_922_859_458_223_821,
        ]
        XCTAssertEqual((0 ..< 5).map { _ in generator.next() }, expected)
    }

    func testNamedStreamsAreIndependentOfEachOtherAndOfCreationOrder() {
        let a1 = SimRandom(rootSeed: 7, stream: "network")
        _ = SimRandom(rootSeed: 7, stream: "disk")  // a new stream changes nothing for the others
        let a2 = SimRandom(rootSeed: 7, stream: "network")
        var x = a1, y = a2
        XCTAssertEqual((0 ..< 8).map { _ in x.next() }, (0 ..< 8).map { _ in y.next() })
        var network = SimRandom(rootSeed: 7, stream: "network"), disk = SimRandom(rootSeed: 7, stream: "disk")
        XCTAssertNotEqual(network.next(), disk.next())
        var otherSeed = SimRandom(rootSeed: 8, stream: "network")
        var sameSeed = SimRandom(rootSeed: 7, stream: "network")
        XCTAssertNotEqual(otherSeed.next(), sameSeed.next())
    }

    func testPersistentStreamContinuesWhereItStopped() {
        let simulation = Simulation(seed: 3)
        let first = simulation.withRandom(stream: "s") { $0.next() }
        let second = simulation.withRandom(stream: "s") { $0.next() }
        var reference = SimRandom(rootSeed: 3, stream: "s")
        XCTAssertEqual([first, second], [reference.next(), reference.next()])
    }

    /// 100,000 draws with p = 3/10: mean 30,000, sd = sqrt(n p (1-p)) = 144.9. The bound of
    /// +-6 sd (869) fails by chance with probability below 1e-8.
    func testChanceMatchesItsRatioWithinBinomialBound() {
        var random = SimRandom(seed: 11)
        let n = 100_000
        let hits = (0 ..< n).filter { _ in random.chance(Ratio(3, 10)) }.count
        XCTAssertTrue((30_000 - 869 ... 30_000 + 869).contains(hits), "hits \(hits)")
        XCTAssertFalse((0 ..< 1000).contains { _ in random.chance(.zero) })
        XCTAssertTrue((0 ..< 1000).allSatisfy { _ in random.chance(.one) })
    }

    /// Uniform below 6: each face 1/6 of 60,000 draws (10,000, sd 91.3); +-6 sd = 548.
    func testUniformIsUnbiased() {
        var random = SimRandom(seed: 5)
        var counts = [Int](repeating: 0, count: 6)
        for _ in 0 ..< 60_000 { counts[Int(random.uniform(below: 6))] += 1 }
        for count in counts { XCTAssertTrue((10_000 - 548 ... 10_000 + 548).contains(count), "\(counts)") }
        for _ in 0 ..< 1000 {
            let value = random.uniform(-5 ... 5)
            XCTAssertTrue((-5 ... 5).contains(value))
        }
    }

    /// Exponential with mean 1 ms over 100,000 draws: the sample mean has sd 1 ms / sqrt(n) =
    /// 3.16 us; +-6 sd = 19 us.
    func testExponentialMeanWithinBound() {
        var random = SimRandom(seed: 9)
        let n = 100_000
        let total = (0 ..< n).reduce(Int64(0)) { sum, _ in sum + random.exponential(meanNanoseconds: Nanos.millisecond) }
        let mean = total / Int64(n)
        XCTAssertTrue(abs(mean - Nanos.millisecond) < 19_000, "mean \(mean)")
    }

    func testDistributionsStayInTheirBounds() {
        var random = SimRandom(seed: 1)
        let pareto = DurationDistribution.boundedPareto(min: 100, max: 100_000, alphaPercent: 120)
        var draws: [Int64] = []
        for _ in 0 ..< 20_000 { draws.append(pareto.sample(&random)) }
        XCTAssertTrue(draws.allSatisfy { (100 ... 100_000).contains($0) })
        let sorted = draws.sorted()
        // A long tail: the median sits near the minimum, the top 1 % far above it.
        XCTAssertLessThan(sorted[sorted.count / 2], 400)
        XCTAssertGreaterThan(sorted[sorted.count * 99 / 100], 3_000)
        let exponential = DurationDistribution.exponential(min: 10, mean: 1000, max: 2000)
        XCTAssertTrue((0 ..< 5000).allSatisfy { _ in (10 ... 2000).contains(exponential.sample(&random)) })
    }

    func testShuffleIsAPermutationAndDependsOnTheSeed() {
        var a = SimRandom(seed: 1), b = SimRandom(seed: 2)
        var x = Array(0 ..< 50), y = Array(0 ..< 50)
        a.shuffle(&x)
        b.shuffle(&y)
        XCTAssertEqual(x.sorted(), Array(0 ..< 50))
        XCTAssertNotEqual(x, y)
    }

    func testStableHashIsFNV1a() {
        // FNV-1a 64 test vectors: "" and "a".
        XCTAssertEqual(stableHash(""), 0xCBF2_9CE4_8422_2325)
        XCTAssertEqual(stableHash("a"), 0xAF63_DC4C_8601_EC8C)
        // "foobar" from the FNV reference vectors (a small string), and strings of every kind
        // (small, native, a substring's copy, non-ASCII) hash as their UTF-8 bytes do.
        XCTAssertEqual(stableHash("foobar"), 0x8594_4171_F739_67E8)
        let long = "inference-b/http POST /inference/predict, a native string well past fifteen bytes"
        for text in ["foobar", long, String(long.dropFirst(7).prefix(40)), "größe-模型-🚀"] {
            XCTAssertEqual(stableHash(text), stableHash(Array(text.utf8)), text)
        }
    }
}
