extension FeaturesService {
    /// A feature's version only counts values that exist: in Redis's append-only file, every
    /// increment of `feature:<entity>:version` comes after a write of `feature:<entity>` (a version
    /// with no value would let a reader trust a cache entry for a value never stored). Judged on
    /// the log's order alone, so writes in flight when the run ended cannot raise a false alarm.
    public static func invariants(_ view: ServiceStateView) -> [String] {
        guard let node = view.topology.nodes(role: "redis").first.flatMap({ view.simulation.node(named: $0.name) }),
              let log = try? node.disk.readAll("appendonly.aof") else { return [] }
        var written: Set<String> = []
        var violations: [String] = []
        for payload in RecordLog.decodeAll(log) {
            guard let command = RedisAppendOnlyFile().decode(payload) else { continue }
            switch command {
            case .set(let key, _, _, _) where key.hasPrefix("feature:") && !key.hasSuffix(":version"):
                written.insert(key)
            case .incr(let key) where key.hasPrefix("feature:") && key.hasSuffix(":version"):
                let value = String(key.dropLast(":version".count))
                if !written.contains(value) && !violations.contains(where: { $0.contains(value + " ") }) {
                    violations.append("features: \(value) got a version before any value was written")
                }
            default: break
            }
        }
        return violations
    }
}
