/// How the kernel orders concurrent deliveries and lock requests.
public enum SchedulingStrategy: Hashable, Sendable, Codable, CustomStringConvertible {
    /// Latencies drawn from the link distributions: the default.
    case random
    /// Probabilistic concurrency testing (Burckhardt et al., ASPLOS 2010), adapted to virtual time:
    /// every node gets a random priority; a message or lock request from a node of priority rank r
    /// (0 = highest) is delayed by r quanta, so higher-priority nodes act first; at `depth`
    /// change points, chosen uniformly among the first `horizon` scheduling decisions, the node
    /// deciding drops to the lowest priority. Bugs of depth d are found with probability at least
    /// 1 / (n k^(d-1)) per run in the original setting.
    case pct(depth: Int)

    public var description: String {
        switch self {
        case .random: return "random"
        case .pct(let depth): return "pct(depth \(depth))"
        }
    }

    /// Parses `random` or `pct` / `pct:D`.
    public init?(parsing text: String) {
        if text == "random" { self = .random; return }
        if text == "pct" { self = .pct(depth: 3); return }
        if text.hasPrefix("pct:"), let depth = Int(text.dropFirst(4)), (1 ... 100).contains(depth) { self = .pct(depth: depth); return }
        return nil
    }
}

/// The PCT state of one run: node priorities and the change points.
public final class PCTScheduler {
    unowned let simulation: Simulation
    let depth: Int
    /// Scheduling decisions over which change points are spread.
    public let horizon = 2000
    /// Extra delay per priority rank, in ns.
    public let quantum: Int64 = 500 * Nanos.microsecond
    var priorities: [Int] = []
    var changePoints: [Int] = []
    public private(set) var decisions = 0
    var random: SimRandom

    init(simulation: Simulation, depth: Int) {
        self.simulation = simulation
        self.depth = depth
        random = simulation.random(stream: "pct")
        changePoints = (0 ..< Swift.max(0, depth)).map { _ in 1 + random.uniform(0 ..< horizon) }.sorted()
    }

    /// The extra delay of a decision made by `node` (a send or a lock request), in ns.
    public func delay(for node: NodeID) -> Int64 {
        let count = simulation.nodes.count
        if priorities.count < count {
            // Priorities are a random permutation, drawn once all nodes exist.
            var order = Array(0 ..< count)
            random.shuffle(&order)
            priorities = order.map { count + $0 }
        }
        decisions += 1
        if changePoints.first == decisions {
            changePoints.removeFirst()
            priorities[node.index] = (priorities.min() ?? 0) - 1
            simulation.record(TraceKind("pct.change"), node: simulation.node(node).name, actor: "pct", payload: UInt64(decisions),
                              "priority lowered at decision \(decisions)")
        }
        let mine = priorities[node.index]
        let rank = priorities.filter { $0 > mine }.count
        return Int64(rank) * quantum
    }
}

extension Simulation {
    /// The PCT scheduler of this run, or nil under the random strategy.
    public var pct: PCTScheduler? {
        guard case .pct(let depth) = options.strategy else { return nil }
        return component(PCTScheduler.self) { PCTScheduler(simulation: self, depth: depth) }
    }
}
