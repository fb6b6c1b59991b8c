import XCTest
@testable import SimServices

/// The DAG validator (three-colour DFS) against Kahn's topological sort, its oracle, and the C8/D8
/// validator that keeps one visited set.
final class DependencyGraphTests: XCTestCase {
    func graph(_ edges: String) -> DependencyGraph { try! DependencyGraph.parse(edges.split(separator: ",").map(String.init)).get() }

    /// A -> B -> C -> A is a cycle, reported as the path that closes it.
    func testATriangleIsACycleReportedAsItsPath() {
        XCTAssertEqual(graph("a>b,b>c,c>a").cycle(), ["a", "b", "c", "a"])
    }

    /// A diamond reaches its sink twice; the second time the sink is finished (black), not a cycle.
    func testADiamondIsNotACycle() {
        XCTAssertNil(graph("a>b,a>c,b>d,c>d").cycle())
        XCTAssertTrue(graph("a>b,a>c,b>d,c>d").isAcyclic)
    }

    func testASelfLoopIsACycle() {
        XCTAssertEqual(graph("a>a").cycle(), ["a", "a"])
    }

    /// A cycle downstream of an acyclic part is found, and reported from where it closes.
    func testACycleBehindAnAcyclicPrefixIsFound() {
        XCTAssertEqual(graph("s>a,a>b,b>c,c>b").cycle(), ["b", "c", "b"])
    }

    /// Kahn's order takes the smallest ready task first, and every edge goes forward in it.
    func testKahnsOrderIsTopologicalAndSmallestFirst() {
        let g = graph("load>report,extract>transform,transform>load,extract>load")
        let order = g.topologicalOrder()!
        XCTAssertEqual(order, ["extract", "transform", "load", "report"])
        for node in g.nodes { for next in g.downstream[node] ?? [] { XCTAssertLessThan(order.firstIndex(of: node)!, order.firstIndex(of: next)!) } }
    }

    func testKahnsOrderIsNilForACycle() {
        XCTAssertNil(graph("a>b,b>c,c>a,x>a").topologicalOrder())
    }

    /// The C8/D8 validator skips every node seen before, so the triangle's back edge goes unseen.
    func testOneVisitedSetMissesATriangle() {
        XCTAssertNil(graph("a>b,b>c,c>a").cycleWithOneVisitedSet())
        XCTAssertNotNil(graph("a>b,b>c,c>a").cycle())
    }

    /// Every graph on three nodes (2^9 edge sets, self-loops included): the three-colour DFS finds a
    /// cycle exactly when Kahn's sort cannot order the graph.
    func testTheValidatorAgreesWithKahnOnEveryGraphOfThreeNodes() {
        let names = ["a", "b", "c"]
        var cyclic = 0
        for mask in 0 ..< 512 {
            var edges: [(String, String)] = []
            for i in 0 ..< 3 { for j in 0 ..< 3 where mask & (1 << (i * 3 + j)) != 0 { edges.append((names[i], names[j])) } }
            let g = DependencyGraph(edges: edges, nodes: names)
            XCTAssertEqual(g.cycle() == nil, g.topologicalOrder() != nil, "edges \(edges)")
            if g.cycle() != nil { cyclic += 1 }
        }
        // Acyclic digraphs on 3 labelled nodes: 25 (OEIS A003024), so 512 - 25 are cyclic.
        XCTAssertEqual(cyclic, 512 - 25)
    }

    /// On four nodes without self-loops (2^12 edge sets) the validator still agrees with the
    /// oracle, and the one-visited-set validator disagrees on every cyclic graph.
    func testTheOneVisitedSetValidatorDisagreesWithKahnOnEveryCyclicGraphOfFourNodes() {
        let names = ["a", "b", "c", "d"]
        let pairs = names.flatMap { from in names.filter { $0 != from }.map { (from, $0) } }
        var acyclic = 0
        for mask in 0 ..< (1 << pairs.count) {
            let edges = pairs.indices.filter { mask & (1 << $0) != 0 }.map { pairs[$0] }
            let g = DependencyGraph(edges: edges, nodes: names)
            let oracle = g.isAcyclic
            XCTAssertEqual(g.cycle() == nil, oracle)
            XCTAssertNil(g.cycleWithOneVisitedSet())
            if oracle { acyclic += 1 }
        }
        // Acyclic digraphs on 4 labelled nodes: 543 (OEIS A003024).
        XCTAssertEqual(acyclic, 543)
    }

    /// Ready: not started, not done, every upstream task succeeded.
    func testReadyTasksHaveEveryUpstreamTaskSucceeded() {
        let g = graph("v>m1,v>m2,m1>f,m2>f")
        XCTAssertEqual(g.ready(succeeded: []), ["v"])
        XCTAssertEqual(g.ready(succeeded: ["v"]), ["m1", "m2"])
        XCTAssertEqual(g.ready(succeeded: ["v", "m1"], started: ["m2"]), [])
        XCTAssertEqual(g.ready(succeeded: ["v", "m1", "m2"]), ["f"])
        XCTAssertEqual(g.ready(succeeded: ["v", "m1", "m2", "f"]), [])
    }

    func testParseRefusesAnEdgeWithoutTwoEnds() {
        for bad in ["a-b", "a>", ">b", "a>b>c"] {
            guard case .failure(let error) = DependencyGraph.parse([bad]) else { return XCTFail("\(bad) parsed") }
            XCTAssertEqual(error.message, "'\(bad)' is not from>to")
        }
    }

    /// The edge list is sorted and without duplicates, whatever the input order.
    func testTheEdgeListIsSortedAndDeduplicated() {
        XCTAssertEqual(graph("c>a,a>c,a>b,a>b").edgeList, ["a>b", "a>c", "c>a"])
    }

    /// Isolated nodes given beside the edges are tasks too.
    func testIsolatedNodesAreTasks() {
        let g = DependencyGraph(edges: [("a", "b")], nodes: ["z"])
        XCTAssertEqual(g.nodes, ["a", "b", "z"])
        XCTAssertEqual(g.ready(succeeded: []), ["a", "z"])
    }
}
