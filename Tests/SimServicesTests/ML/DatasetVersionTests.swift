import XCTest
@testable import SimKernel
@testable import SimServices

final class DatasetVersionTests: XCTestCase {
    func testRowsRoundTripBitForBit() {
        let rows = SyntheticDataset(seed: 3, featureCount: 4, trainCount: 50, testCount: 1).train
        let decoded = DatasetVersion.decode(DatasetVersion.encode(rows))!
        XCTAssertEqual(decoded.count, rows.count)
        for (a, b) in zip(decoded, rows) { XCTAssertEqual(a.features.map(\.bitPattern), b.features.map(\.bitPattern)); XCTAssertEqual(a.label, b.label) }
    }

    func testTheDigestIsTheSHA256OfTheCanonicalText() {
        let rows = [Example(features: [1.5, -2], label: 1), Example(features: [0.25, 3], label: 0)]
        XCTAssertEqual(String(decoding: DatasetVersion.encode(rows), as: UTF8.self), "1.5,-2.0,1.0\n0.25,3.0,0.0\n")
        // `printf "1.5,-2.0,1.0\n0.25,3.0,0.0\n" | sha256sum`
        XCTAssertEqual(DatasetVersion.digest(DatasetVersion.encode(rows)), "1fe59edeeb6248b0fc85214785ded57503c70190cf1f6f0ff3a4c988c598223f")
    }

    func testTheEmptyDatasetHasTheSHA256OfNothing() {
        XCTAssertEqual(DatasetVersion.digest([]), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    func testChangingOneValueByOneUlpChangesTheDigest() {
        var rows = SyntheticDataset(seed: 3, featureCount: 4, trainCount: 20, testCount: 1).train
        let digest = DatasetVersion.digest(DatasetVersion.encode(rows))
        rows[7].features[2] = rows[7].features[2].nextUp
        XCTAssertNotEqual(DatasetVersion.digest(DatasetVersion.encode(rows)), digest)
    }

    func testRaggedRowsAreNotADataset() { XCTAssertNil(DatasetVersion.decode(Array("1,2,1\n1,0\n".utf8))) }

    func testALabelOtherThanZeroOrOneIsNotADataset() { XCTAssertNil(DatasetVersion.decode(Array("1,2,2\n".utf8))) }

    func testAFieldThatIsNotANumberIsNotADataset() { XCTAssertNil(DatasetVersion.decode(Array("1,x,1\n".utf8))) }

    func testANonFiniteFeatureIsNotADataset() {
        XCTAssertNil(DatasetVersion.decode(Array("nan,1,1\n".utf8)))
        XCTAssertNil(DatasetVersion.decode(Array("1e50,1,1\n".utf8)))  // beyond Float: infinity
    }

    func testTwoSpellingsOfTheSameRowsHaveOneCanonicalForm() {
        let plain = DatasetVersion.decode(Array("1,2,1\n".utf8))!, spelled = DatasetVersion.decode(Array("1.0,2.00,1\n\n".utf8))!
        XCTAssertEqual(DatasetVersion.encode(plain), DatasetVersion.encode(spelled))
    }

    func testADigestIsSixtyFourLowerCaseHexDigits() {
        XCTAssertTrue(DatasetVersion.isDigest(String(repeating: "a1", count: 32)))
        XCTAssertFalse(DatasetVersion.isDigest(String(repeating: "A1", count: 32)))
        XCTAssertFalse(DatasetVersion.isDigest("abc"))
        XCTAssertFalse(DatasetVersion.isDigest(String(repeating: "g1", count: 32)))
    }
}
