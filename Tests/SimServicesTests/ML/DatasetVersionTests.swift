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

    /// The grapheme-splitting decoder the byte-level one replaced, kept as its reference.
    static func referenceDecode(_ bytes: [UInt8]) -> [[Float]]? {
        var rows: [[Float]] = []
        var width: Int?
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false) {
            if line.isEmpty { continue }
            let numbers = line.split(separator: ",", omittingEmptySubsequences: false).map { Float(String($0)) }
            guard numbers.count >= 2, !numbers.contains(nil), width == nil || width == numbers.count, numbers.allSatisfy({ $0!.isFinite }) else { return nil }
            width = numbers.count
            let values = numbers.map { $0! }
            guard let label = values.last, label == 0 || label == 1 else { return nil }
            rows.append(values)
        }
        return rows
    }

    func testDecodingAgreesWithTheGraphemeSplittingReferenceOnDrawnTexts() {
        // 5,000 texts drawn from pieces that stress the splitting: empty lines, CR LF, a combining
        // mark after a separator, invalid UTF-8, spellings Float reads and ones it does not.
        let pieces: [[UInt8]] = ["0", "1", "0.5", "-2.25", "1e3", "nan", "inf", "x", "", " 1", "1.0", "0x1p3", ",", "\n", "\r\n", "\n\n"].map { Array($0.utf8) }
            + [[0x2C, 0xCC, 0x81], [0x0A, 0xCC, 0x81], [0xC3], [0xFF], [0xE2, 0x82]]
        var random = SimRandom(rootSeed: 5, stream: "dataset-decode")
        var accepted = 0
        let numbers: [[UInt8]] = ["0", "1", "0.5", "-2.25", "1e3", "1.0", "0x1p3", "3.4028235e38"].map { Array($0.utf8) }
        let labels: [[UInt8]] = ["0", "1", "1.0", "2"].map { Array($0.utf8) }
        let ends: [[UInt8]] = ["\n", "\n", "\n\n", ""].map { Array($0.utf8) }
        for _ in 0 ..< 5_000 {
            // Rows of a drawn width (a dataset, well-formed or nearly), then up to two pieces
            // inserted anywhere.
            var bytes: [UInt8] = []
            let width = random.uniform(1 ..< 4)
            for _ in 0 ..< random.uniform(0 ..< 5) {
                for _ in 0 ..< width { bytes += numbers[random.uniform(0 ..< numbers.count)] + [0x2C] }
                bytes += labels[random.uniform(0 ..< labels.count)] + ends[random.uniform(0 ..< ends.count)]
            }
            for _ in 0 ..< random.uniform(0 ..< 3) {
                bytes.insert(contentsOf: pieces[random.uniform(0 ..< pieces.count)], at: random.uniform(0 ..< bytes.count + 1))
            }
            let decoded = DatasetVersion.decode(bytes).map { $0.map { $0.features + [$0.label] } }
            let reference = Self.referenceDecode(bytes)
            XCTAssertEqual(decoded.map { $0.map { $0.map(\.bitPattern) } }, reference.map { $0.map { $0.map(\.bitPattern) } }, "\(bytes)")
            if let decoded, !decoded.isEmpty { accepted += 1 }
        }
        XCTAssertGreaterThan(accepted, 500, "the draw reaches well-formed datasets too, not only refusals")
    }
}
