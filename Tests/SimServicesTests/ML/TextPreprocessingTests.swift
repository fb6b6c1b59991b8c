import XCTest
@testable import SimKernel
@testable import SimServices

/// The text pre-processing a text model is trained and served with: hashed word ids, a fixed
/// length, padding on the recorded side. Reference ids were computed independently in Python:
/// `1 + fnv1a64(word.encode()) % 63` with FNV-1a's 64-bit offset 0xcbf29ce484222325 and prime
/// 0x100000001b3; reference probabilities with Python's float64 `1 / (1 + exp(-z))`.
final class TextPreprocessingTests: XCTestCase {
    let preprocessing = TextPreprocessing(length: 8, vocabulary: 64, padding: .right)

    /// Words are lower-cased ASCII letters and digits; everything else separates them; each id is
    /// Python's reference value.
    func testTokensAreHashedLowerCasedWordsMatchingTheReference() {
        XCTAssertEqual(preprocessing.tokens("Drift alert on feature age"), [12, 19, 56, 55, 27])
        XCTAssertEqual(preprocessing.tokens("REFUND, not received!"), [22, 25, 22])
        XCTAssertEqual(preprocessing.tokens("cannot log-in"), [57, 15, 7])
        XCTAssertEqual(preprocessing.tokens("  ...  "), [])
        XCTAssertEqual(preprocessing.tokens("é"), [], "non-ASCII bytes separate words")
    }

    /// A short text is padded with 0 to the length on the recorded side (or the one asked); a long
    /// one keeps its first `length` tokens whichever side pads.
    func testSequencesArePaddedOnTheirSideAndTruncatedToTheLength() {
        XCTAssertEqual(preprocessing.sequence("Drift alert on feature age"), [12, 19, 56, 55, 27, 0, 0, 0])
        XCTAssertEqual(preprocessing.sequence("Drift alert on feature age", padding: .left), [0, 0, 0, 12, 19, 56, 55, 27])
        let long = "a b c d e f g h i j"
        XCTAssertEqual(preprocessing.sequence(long), Array(preprocessing.tokens(long).prefix(8)))
        XCTAssertEqual(preprocessing.sequence(long, padding: .left), preprocessing.sequence(long))
        XCTAssertEqual(preprocessing.sequence(""), [Int](repeating: 0, count: 8))
        XCTAssertEqual(preprocessing.inputs("cannot log in").prefix(4), [57.0 / 64, 15.0 / 64, 7.0 / 64, 0])
    }

    /// The ticket model's probability for one ticket, right- and left-padded, against float64
    /// references: 0.8822656618648134 and 0.04914904077872271.
    func testTheTicketModelsProbabilitiesMatchTheReference() {
        let artifact = ModelArtifact(model: "tickets", version: 1, residentMiB: 5, weights: [2.0, 1.5, 1.0, 0.5, -0.5, -1.0, -1.5, -2.0, 0.1], text: preprocessing)
        XCTAssertEqual(Double(artifact.probability(text: "Drift alert on feature age") ?? -1), 0.8822656618648134, accuracy: 1e-6)
        XCTAssertEqual(Double(artifact.probability(text: "Drift alert on feature age", padding: .left) ?? -1), 0.04914904077872271, accuracy: 1e-6)
        XCTAssertNil(ModelArtifact(model: "plain", version: 1, residentMiB: 5, weights: [1, 2]).probability(text: "age"), "a numeric model has no text probability")
    }

    /// The artifact's form round-trips; anything else (a missing, repeated, unknown or out-of-range
    /// field, an unknown side) is refused.
    func testTheRecordedFormRoundTripsAndMalformedFormsAreRefused() {
        XCTAssertEqual(preprocessing.encoded, "length=8,vocabulary=64,padding=right")
        XCTAssertEqual(TextPreprocessing(decoding: preprocessing.encoded), preprocessing)
        XCTAssertEqual(TextPreprocessing(decoding: "padding=left,length=3,vocabulary=2"), TextPreprocessing(length: 3, vocabulary: 2, padding: .left))
        for bad in ["", "length=8,vocabulary=64", "length=8,vocabulary=64,padding=middle", "length=0,vocabulary=64,padding=right",
                    "length=8,vocabulary=1,padding=right", "length=8,length=8,vocabulary=64,padding=right", "length=8,vocabulary=64,padding=right,case=upper",
                    "length=x,vocabulary=64,padding=right"] {
            XCTAssertNil(TextPreprocessing(decoding: bad), bad)
        }
    }

    /// A text model's artifact records its pre-processing and reads it back; one whose sequence
    /// length is not its input width (weights less the bias) is not a valid artifact.
    func testAnArtifactCarriesItsPreprocessing() {
        let artifact = ModelArtifact(model: "tickets", version: 2, residentMiB: 5, weights: [Float](repeating: 0.5, count: 9), text: preprocessing)
        XCTAssertEqual(ModelArtifact(decoding: artifact.encoded)?.text, preprocessing)
        XCTAssertEqual(ModelArtifact(decoding: artifact.encoded), artifact)
        // A file claiming an 8-token sequence over 4 inputs (such an artifact cannot be built in memory).
        let mismatched = ModelArtifact(model: "tickets", version: 2, residentMiB: 5, weights: [Float](repeating: 0.5, count: 5)).encoded + Array("text: \(preprocessing.encoded)\n".utf8)
        XCTAssertNil(ModelArtifact(decoding: mismatched))
        XCTAssertNil(ModelArtifact(decoding: ModelArtifact(model: "plain", version: 1, residentMiB: 5, weights: [1, 2]).encoded)?.text)
    }
}
