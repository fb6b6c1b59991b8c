/// A dependency graph over named tasks (a pipeline's DAG, a feature view's transformations): an
/// edge `from -> to` says `to` runs after `from`. Nodes and adjacency are kept sorted, so every
/// walk over the graph is deterministic.
public struct DependencyGraph: Sendable, Equatable {
    /// Every task, sorted.
    public let nodes: [String]
    /// Downstream tasks of each task, sorted (absent: none).
    public let downstream: [String: [String]]
    /// Upstream tasks of each task, sorted (absent: none).
    public let upstream: [String: [String]]

    public init(edges: [(String, String)], nodes extra: [String] = []) {
        var down: [String: Set<String>] = [:], up: [String: Set<String>] = [:]
        var all = Set(extra)
        for (from, to) in edges {
            all.insert(from)
            all.insert(to)
            down[from, default: []].insert(to)
            up[to, default: []].insert(from)
        }
        nodes = all.sorted()
        downstream = down.mapValues { $0.sorted() }
        upstream = up.mapValues { $0.sorted() }
    }

    /// Parses edges written `from>to`; the error names the first malformed one.
    public static func parse(_ edges: [String], nodes: [String] = []) -> Result<DependencyGraph, GraphError> {
        var pairs: [(String, String)] = []
        for edge in edges {
            let ends = edge.splitBytes(">", omittingEmptySubsequences: false).map(String.init)
            guard ends.count == 2, !ends[0].isEmpty, !ends[1].isEmpty else { return .failure(GraphError(message: "'\(edge)' is not from>to")) }
            pairs.append((ends[0], ends[1]))
        }
        return .success(DependencyGraph(edges: pairs, nodes: nodes))
    }

    /// The edges, sorted by (from, to), written `from>to`.
    public var edgeList: [String] { nodes.flatMap { from in (downstream[from] ?? []).map { "\(from)>\($0)" } } }

    /// A cycle found by a three-colour depth-first search (white: unseen, grey: on the current
    /// path, black: finished): reaching a grey task closes a cycle. Returns the cycle's tasks in
    /// order, starting and ending at the same task (`a, b, c, a`), or nil when the graph is acyclic.
    /// A diamond (a -> b -> d, a -> c -> d) reaches d twice, but black the second time: no cycle.
    public func cycle() -> [String]? {
        enum Colour { case grey, black }
        var colour: [String: Colour] = [:]
        var path: [String] = []
        func visit(_ node: String) -> [String]? {
            colour[node] = .grey
            path.append(node)
            for next in downstream[node] ?? [] {
                switch colour[next] {
                case .grey?:
                    let start = path.lastIndex(of: next)!
                    return Array(path[start...]) + [next]
                case nil:
                    if let found = visit(next) { return found }
                case .black?:
                    continue
                }
            }
            path.removeLast()
            colour[node] = .black
            return nil
        }
        for node in nodes where colour[node] == nil {
            if let found = visit(node) { return found }
        }
        return nil
    }

    /// The C8/D8 validator: one visited set and no notion of "on the current path". A task seen
    /// before is skipped, whether it finished or is still on the path, so a back edge closing a
    /// cycle (A -> B -> C -> A) is never noticed: it calls every graph acyclic.
    public func cycleWithOneVisitedSet() -> [String]? {
        var visited: Set<String> = []
        func visit(_ node: String) {
            guard visited.insert(node).inserted else { return }
            for next in downstream[node] ?? [] { visit(next) }
        }
        for node in nodes { visit(node) }
        return nil
    }

    /// Kahn's topological sort (the validators' test oracle): repeatedly take a task with no
    /// remaining upstream, smallest name first. nil when some tasks are never freed (a cycle).
    public func topologicalOrder() -> [String]? {
        var remaining = Dictionary(uniqueKeysWithValues: nodes.map { ($0, upstream[$0]?.count ?? 0) })
        var ready = nodes.filter { remaining[$0] == 0 }
        var order: [String] = []
        while !ready.isEmpty {
            ready.sort()
            let node = ready.removeFirst()
            order.append(node)
            for next in downstream[node] ?? [] {
                remaining[next]! -= 1
                if remaining[next] == 0 { ready.append(next) }
            }
        }
        return order.count == nodes.count ? order : nil
    }

    /// Whether the graph is acyclic by the oracle.
    public var isAcyclic: Bool { topologicalOrder() != nil }

    /// Tasks not in `done` or `started` whose upstream tasks have all succeeded, sorted.
    public func ready(succeeded: Set<String>, started: Set<String> = []) -> [String] {
        nodes.filter { node in
            !succeeded.contains(node) && !started.contains(node) && (upstream[node] ?? []).allSatisfy { succeeded.contains($0) }
        }
    }
}

/// A graph that cannot be read.
public struct GraphError: Error, Equatable, Sendable {
    public var message: String
}
