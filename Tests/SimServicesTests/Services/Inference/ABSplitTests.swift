import XCTest
@testable import SimServices

final class ABSplitTests: XCTestCase {
    private func arms(_ text: String) -> ABSplit.Arms {
        guard case .success(let arms) = ABSplit.parse(text) else { XCTFail("\(text) refused"); return [] }
        return arms
    }

    func testIntegerWeightsGiveEachArmExactlyItsShareOfTheBuckets() {
        let split = arms("1:5000,2:2500,3:2500")
        var counts: [Int64: Int] = [:]
        for bucket in 0 ..< 10_000 { counts[ABSplit.arm(bucket: bucket, arms: split), default: 0] += 1 }
        XCTAssertEqual(counts, [1: 5000, 2: 2500, 3: 2500])
    }

    func testB3WholePercentagesDriftTowardControl() {
        let split = arms("1:5000,2:2500,3:2500")
        var counts: [Int64: Int] = [:]
        for bucket in 0 ..< 10_000 { counts[ABSplit.arm(bucket: bucket, arms: split, wholePercent: true), default: 0] += 1 }
        XCTAssertEqual(counts, [1: 5100, 2: 2500, 3: 2400], "boundary percentages go to the earlier arm: 51/25/24")
        XCTAssertEqual(ABSplit.arm(bucket: 5050, arms: split, wholePercent: true), 1)
        XCTAssertEqual(ABSplit.arm(bucket: 5050, arms: split), 2)
    }

    /// The bucket is a pure function of (model, user): FNV-1a of "model/user" mod 10,000, the same
    /// in every process and on every replica (pinned here to values computed outside Swift).
    func testTheBucketIsAFixedFunctionOfTheModelAndTheUser() {
        XCTAssertEqual(ABSplit.bucket(model: "ranker", user: "u42"), 9494)
        XCTAssertEqual(ABSplit.bucket(model: "other", user: "u42"), 4583, "the model is part of the bucket's hash")
    }

    func testWeightsThatDoNotSumTo10000AndMalformedArmsAreRefused() {
        let refused: [(String, String)] = [
            ("1:4000,2:3000,3:2000", "weights sum to 9000 basis points, not 10000"),
            ("1:10000", "an experiment needs at least two arms"),
            ("1:5000,1:5000", "version 1 is listed twice"),
            ("1:5000,2:x", "'2:x' is not version:weight"),
            ("0:5000,2:5000", "'0:5000' is not version:weight"),
            ("1:5000,2:-1,3:5001", "'2:-1' is not version:weight"),
        ]
        for (text, problem) in refused {
            guard case .failure(let error) = ABSplit.parse(text) else { XCTFail("\(text) accepted"); continue }
            XCTAssertEqual(error.status, 400)
            XCTAssertTrue(error.message.contains(problem), "\(text): \(error.message)")
        }
    }
}

final class DeploymentRecordTests: XCTestCase {
    func testADeploymentRecordRoundTripsThroughTheTopic() {
        let deployment = Deployment(ModelKey("ranker", 3), stage: .staging)
        XCTAssertEqual(String(decoding: deployment.value, as: UTF8.self), "3 Staging")
        XCTAssertEqual(Deployment(record: KafkaRecord(offset: 0, key: "ranker", value: deployment.value)), deployment)
    }

    func testMalformedDeploymentRecordsAreIgnored() {
        for value in ["3", "x Production", "3 Live", "3 Production extra", ""] {
            XCTAssertNil(Deployment(record: KafkaRecord(offset: 0, key: "m", value: Array(value.utf8))), value)
        }
    }

    func testTwoArmsSplitTheBucketsByTheirWeights() {
        guard case .success(let arms) = ABSplit.parse("7:9000,8:1000") else { return XCTFail("refused") }
        var counts: [Int64: Int] = [:]
        for bucket in 0 ..< 10_000 { counts[ABSplit.arm(bucket: bucket, arms: arms), default: 0] += 1 }
        XCTAssertEqual(counts, [7: 9000, 8: 1000])
    }
}
