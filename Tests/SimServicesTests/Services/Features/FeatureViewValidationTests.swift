import XCTest
@testable import SimKernel
@testable import SimServices

/// `FeatureView.problem`: what registration refuses (and C8's validator lets through).
final class FeatureViewValidationTests: XCTestCase {
    func view(features: [String] = ["f", "g"], categorical: [String] = [], _ transforms: [String] = []) -> FeatureView {
        FeatureView(name: "v", features: features, categorical: categorical, ttl: Nanos.hour, sla: Nanos.minute,
                    transforms: transforms.map { try! FeatureView.Transform.parse($0).get() })
    }

    /// a reads b, b reads c, c reads a (and f): a cycle a -> c -> b -> a in the input graph.
    var cyclic: FeatureView { view(["a=sum(b f)", "b=log1p(c)", "c=log1p(a)"]) }
    /// d reads b and c, which both read a, which reads f.
    var diamond: FeatureView { view(["a=log1p(f)", "b=log1p(a)", "c=sum(a g)", "d=product(b c)"]) }

    func testAValidViewWithTransformsHasNoProblem() {
        XCTAssertNil(view(categorical: ["g"], ["r=ratio(f g)", "l=log1p(r)"]).problem())
    }

    /// The cycle is refused, and the message names its transforms in order.
    func testRefusesACycleAndNamesIt() {
        let problem = cyclic.problem()
        XCTAssertEqual(problem, "\(FeatureView.cycleProblem): a -> c -> b -> a")
    }

    /// A transform reading itself is a cycle of one.
    func testRefusesATransformReadingItself() {
        XCTAssertEqual(view(["x=sum(f x)"]).problem(), "\(FeatureView.cycleProblem): x -> x")
    }

    /// d is reached twice (through b and c) but that is no cycle.
    func testAcceptsADiamond() {
        XCTAssertNil(diamond.problem())
        XCTAssertEqual(diamond.transformOrder()?.map(\.name), ["a", "b", "c", "d"])
    }

    /// C8's one-visited-set validator lets the cycle in.
    func testC8AcceptsTheCycle() {
        XCTAssertNil(cyclic.problem(defects: DefectSet([.C8])))
    }

    /// C8 still refuses what is not a cycle problem.
    func testC8StillRefusesAnUnknownInput() {
        XCTAssertNotNil(view(["x=log1p(nowhere)"]).problem(defects: DefectSet([.C8])))
    }

    func testRefusesAnInputThatIsNeitherAFeatureNorATransform() {
        XCTAssertEqual(view(["x=ratio(f nowhere)"]).problem(), "transform x reads nowhere, which is neither a feature nor a transform")
    }

    func testRefusesATransformOverwritingARawFeature() {
        XCTAssertEqual(view(["g=log1p(f)"]).problem(), "transform g overwrites a raw feature")
    }

    func testRefusesAFeatureListedTwice() {
        XCTAssertEqual(view(features: ["f", "g", "f"]).problem(), "a feature is listed twice")
    }

    func testRefusesACategoricalFeatureThatIsNotAFeature() {
        XCTAssertEqual(view(categorical: ["g", "colour"]).problem(), "categorical feature colour is not a feature of the view")
    }

    func testRefusesAViewWithoutFeatures() {
        XCTAssertEqual(view(features: []).problem(), "a view needs at least one feature")
    }

    func testRefusesATransformDefinedTwice() {
        XCTAssertEqual(view(["x=log1p(f)", "x=log1p(g)"]).problem(), "a transform is defined twice")
    }

    /// Kahn's order never finishes a cycle: no order at all.
    func testTransformOrderIsNilForACycle() {
        XCTAssertNil(cyclic.transformOrder())
    }

    /// The graph has an edge from each input to the transform reading it, and the raw features as nodes.
    func testTransformGraphHasAnEdgeFromEachInputToItsReader() {
        let graph = view(["r=ratio(f g)", "l=log1p(r)"]).transformGraph
        XCTAssertEqual(graph.edgeList, ["f>r", "g>r", "r>l"])
        XCTAssertEqual(graph.nodes, ["f", "g", "l", "r"])
    }
}
