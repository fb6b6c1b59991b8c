import XCTest
@testable import SimServices

/// ROC AUC against scikit-learn's documented example (`roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35,
/// 0.8]) == 0.75`) and cases computed by counting positive/negative pairs by hand.
final class ROCAUCTests: XCTestCase {
    func testScikitLearnsExampleIsThreeQuarters() {
        XCTAssertEqual(rocAUC(scores: [0.1, 0.4, 0.35, 0.8], labels: [0, 0, 1, 1]), 0.75)
    }

    func testAPerfectRankingIsOne() { XCTAssertEqual(rocAUC(scores: [0.1, 0.2, 0.8, 0.9], labels: [0, 0, 1, 1]), 1) }

    func testAReversedRankingIsZero() { XCTAssertEqual(rocAUC(scores: [0.9, 0.8, 0.2, 0.1], labels: [0, 0, 1, 1]), 0) }

    func testATieBetweenClassesCountsOneHalf() {
        // Pairs: (p 0.5 vs n 0.5) = 1/2, (p 0.5 vs n 0.1) = 1: (1.5) / 2.
        XCTAssertEqual(rocAUC(scores: [0.5, 0.5, 0.1], labels: [1, 0, 0]), 0.75)
    }

    func testOneClassHasNoAUC() { XCTAssertNil(rocAUC(scores: [0.1, 0.2], labels: [1, 1])) }

    func testTheAUCDoesNotDependOnTheRowOrder() {
        XCTAssertEqual(rocAUC(scores: [0.8, 0.35, 0.1, 0.4], labels: [1, 1, 0, 0]), 0.75)
    }
}
