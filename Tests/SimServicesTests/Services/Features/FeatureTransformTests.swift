import Foundation
import XCTest
@testable import SimKernel
@testable import SimServices

/// Feature transformations: `Transform.parse`/`text`, `apply`, and the order
/// materialization computes them in (`transformOrder`, `computeTransforms`; C4's declaration order).
final class FeatureTransformTests: XCTestCase {
    typealias Transform = FeatureView.Transform

    func transform(_ text: String) -> Transform {
        switch Transform.parse(text) {
        case .success(let transform): return transform
        case .failure(let error): XCTFail(error.message); return Transform(name: "?", operation: .sum, inputs: ["?"])
        }
    }

    func parseError(_ text: String) -> String? {
        if case .failure(let error) = Transform.parse(text) { return error.message }
        return nil
    }

    func testParsesARatio() {
        XCTAssertEqual(try Transform.parse("wealth=ratio(income age)").get(), Transform(name: "wealth", operation: .ratio, inputs: ["income", "age"]))
    }

    func testParsesASumOfThreeInputsInOrder() {
        XCTAssertEqual(try Transform.parse("total=sum(c a b)").get(), Transform(name: "total", operation: .sum, inputs: ["c", "a", "b"]))
    }

    func testParsesProductAndLog1p() {
        XCTAssertEqual(try Transform.parse("p=product(a b)").get().operation, .product)
        XCTAssertEqual(try Transform.parse("l=log1p(a)").get(), Transform(name: "l", operation: .log1p, inputs: ["a"]))
    }

    func testParseRefusesAnUnknownOperationAndNamesIt() {
        let message = parseError("x=mean(a b)")
        XCTAssertNotNil(message)
        XCTAssertTrue(message?.contains("unknown operation 'mean'") ?? false, message ?? "")
    }

    func testParseRefusesARatioOfOneInput() {
        XCTAssertEqual(parseError("x=ratio(a)"), "'x=ratio(a)': ratio takes two inputs")
    }

    func testParseRefusesARatioOfThreeInputs() {
        XCTAssertNotNil(parseError("x=ratio(a b c)"))
    }

    func testParseRefusesALog1pOfTwoInputs() {
        XCTAssertEqual(parseError("x=log1p(a b)"), "'x=log1p(a b)': log1p takes one input")
    }

    func testParseRefusesMissingParentheses() {
        XCTAssertNotNil(parseError("x=sum a b"))
        XCTAssertNotNil(parseError("x=sum(a b"))
        XCTAssertNotNil(parseError("x=suma b)"))
    }

    func testParseRefusesAMissingNameOrEqualsSign() {
        XCTAssertNotNil(parseError("=sum(a b)"))
        XCTAssertNotNil(parseError("sum(a b)"))
    }

    func testParseRefusesAnOperationWithoutInputs() {
        XCTAssertNotNil(parseError("x=sum()"))
    }

    func testTextRoundTripsThroughParse() {
        for text in ["wealth=ratio(income age)", "t=sum(a b c)", "p=product(a b)", "l=log1p(t)"] {
            XCTAssertEqual(transform(text).text, text)
        }
    }

    func testRatioDividesTheFirstInputByTheSecond() {
        XCTAssertEqual(transform("r=ratio(a b)").apply(["a": 7, "b": 2]), 3.5)
        XCTAssertEqual(transform("r=ratio(b a)").apply(["a": 7, "b": 2]), 2.0 / 7.0)
    }

    func testSumAddsEveryInput() {
        XCTAssertEqual(transform("s=sum(a b c)").apply(["a": 1.5, "b": -4, "c": 10]), 7.5)
    }

    func testProductMultipliesEveryInput() {
        XCTAssertEqual(transform("p=product(a b c)").apply(["a": 1.5, "b": -4, "c": 10]), -60)
    }

    func testLog1pIsTheNaturalLogarithmOfOnePlusTheInput() {
        XCTAssertEqual(transform("l=log1p(a)").apply(["a": M_E - 1]) ?? .nan, 1, accuracy: 1e-15)
        XCTAssertEqual(transform("l=log1p(a)").apply(["a": 0]), 0)
        XCTAssertEqual(transform("l=log1p(a)").apply(["a": 99]) ?? .nan, Foundation.log(100), accuracy: 1e-12)
    }

    func testAMissingInputGivesNoValue() {
        XCTAssertNil(transform("s=sum(a b)").apply(["a": 1]))
        XCTAssertNil(transform("r=ratio(a b)").apply(["b": 1]))
    }

    /// x / 0 is not finite: no value.
    func testADivisionByZeroGivesNoValue() {
        XCTAssertNil(transform("r=ratio(a b)").apply(["a": 1, "b": 0]))
        XCTAssertNil(transform("r=ratio(a b)").apply(["a": 0, "b": 0]), "0/0 is NaN")
    }

    /// log1p(-1) is -infinity: no value.
    func testALog1pOfMinusOneGivesNoValue() {
        XCTAssertNil(transform("l=log1p(a)").apply(["a": -1]))
    }

    /// A view whose `scaled` reads `total`, declared before `total`.
    var dependentView: FeatureView {
        FeatureView(name: "v", features: ["a", "b"], ttl: 1, sla: 1, transforms: [transform("scaled=log1p(total)"), transform("total=sum(a b)")])
    }

    /// An input transform comes before its reader, even when declared after it.
    func testTransformOrderPutsAnInputBeforeItsReader() {
        XCTAssertEqual(dependentView.transformOrder()?.map(\.name), ["total", "scaled"])
    }

    /// A chain declared in reverse is computed from its start.
    func testTransformOrderOfAReversedChain() {
        let view = FeatureView(name: "v", features: ["a"], ttl: 1, sla: 1,
                               transforms: [transform("d=log1p(c)"), transform("c=log1p(b)"), transform("b=log1p(a)")])
        XCTAssertEqual(view.transformOrder()?.map(\.name), ["b", "c", "d"])
    }

    func testC4KeepsTheDeclarationOrder() {
        XCTAssertEqual(dependentView.transformOrder(defects: DefectSet([.C4]))?.map(\.name), ["scaled", "total"])
    }

    /// In topological order the dependent transform sees its input computed.
    func testComputeTransformsInTopologicalOrderGivesTheDependentValue() {
        let values = FeatureView.computeTransforms(["a": 3, "b": 4], order: dependentView.transformOrder() ?? [])
        XCTAssertEqual(values["total"], 7)
        XCTAssertEqual(values["scaled"] ?? .nan, Foundation.log(8), accuracy: 1e-12)
    }

    /// In C4's declaration order `scaled` runs before `total` exists: it is left missing.
    func testComputeTransformsInC4OrderLeavesTheDependentValueMissing() {
        let values = FeatureView.computeTransforms(["a": 3, "b": 4], order: dependentView.transformOrder(defects: DefectSet([.C4])) ?? [])
        XCTAssertEqual(values["total"], 7)
        XCTAssertNil(values["scaled"])
    }

    /// The raw values are kept alongside the computed ones.
    func testComputeTransformsKeepsTheRawValues() {
        let values = FeatureView.computeTransforms(["a": 3, "b": 4], order: dependentView.transformOrder() ?? [])
        XCTAssertEqual(values["a"], 3)
        XCTAssertEqual(values["b"], 4)
        XCTAssertEqual(values.count, 4)
    }
}
